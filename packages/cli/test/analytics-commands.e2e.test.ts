import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  makeTempDir,
  startTracklaneProcess,
  type TempDir,
  type TracklaneProcess,
  waitFor,
} from '@tracklane/test-utils';

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('tracklane query / sql / export / erase against a running server', () => {
  let dir: TempDir;
  let server: TracklaneProcess;
  let env: Record<string, string>;
  before(async () => {
    dir = await makeTempDir();
    server = await startTracklaneProcess({ dataDir: join(dir.path, 'data') });
    env = { TRACKLANE_URL: server.url, TRACKLANE_API_KEY: server.apiKey };
    const batch = [
      ['1', 'u1', '2026-02-01T10:00:00Z', 'Signed Up'],
      ['2', 'u2', '2026-02-01T11:00:00Z', 'Signed Up'],
      ['3', 'u1', '2026-02-02T09:00:00Z', 'Purchased'],
      ['4', 'u3', '2026-02-02T10:00:00Z', 'Signed Up'],
    ].map(([messageId, userId, timestamp, event]) => ({
      type: 'track',
      messageId,
      userId,
      timestamp,
      event,
    }));
    assert.equal((await server.send('/v1/batch', { batch })).status, 200);
    await waitFor(async () => (await server.sql('SELECT count(*) FROM events')).rows[0]![0] === 4);
  });
  after(async () => {
    await server?.stop();
    await dir?.remove();
  });

  it('prints a trends table', async () => {
    const { code, stdout, stderr } = await run(
      ['query', 'trends', '--event', 'Signed Up', '--from', '2026-02-01', '--to', '2026-02-03'],
      env,
    );
    assert.equal(code, 0, stderr);
    assert.match(stdout, /2026-02-01T00:00:00\s*│\s*2\s/);
    assert.match(stdout, /2026-02-02T00:00:00\s*│\s*1\s/);
    assert.match(stdout, /total\s*│\s*3\s/);
  });

  it('prints a funnel and reports a server-side validation error clearly', async () => {
    const funnel = await run(
      [
        'query',
        'funnel',
        '--steps',
        'Signed Up,Purchased',
        '--from',
        '2026-02-01',
        '--to',
        '2026-02-03',
        '--window',
        '2d',
      ],
      env,
    );
    assert.equal(funnel.code, 0, funnel.stderr);
    assert.match(funnel.stdout, /Purchased\s*│\s*1\s*│\s*33\.3%/);
    const bad = await run(['query', 'trends', '--event', 'x', '--where', 'a.b.c[0]=1'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\/filters\/0\/property/);
  });

  it('runs SQL and refuses writes', async () => {
    const ok = await run(
      ['sql', 'SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY event'],
      env,
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Purchased\s*│\s*1/);
    const write = await run(['sql', 'DELETE FROM events'], env);
    assert.equal(write.code, 1);
    assert.match(write.stderr, /E_READ_ONLY_SQL/);
  });

  it('exports Hive-partitioned Parquet by day', async () => {
    const out = join(dir.path, 'lake');
    const { code, stdout, stderr } = await run(
      ['export', '--format', 'parquet', '--out', out, '--from', '2026-02-01', '--to', '2026-02-03'],
      env,
    );
    assert.equal(code, 0, stderr);
    assert.match(stdout, /exported 4 event\(s\) in 2 day partition\(s\)/);
    assert.deepEqual((await readdir(out)).sort(), ['date=2026-02-01', 'date=2026-02-02']);
    const reader = await (await DuckDBInstance.create(':memory:')).connect();
    const rows = await reader.runAndReadAll(
      `SELECT CAST(date AS VARCHAR) AS d, count(*) FROM read_parquet('${out}/*/*.parquet', hive_partitioning = true) GROUP BY d ORDER BY d`,
    );
    assert.deepEqual(rows.getRowsJS(), [
      ['2026-02-01', 2n],
      ['2026-02-02', 2n],
    ]);
  });

  it('erases a user', async () => {
    const { code, stdout, stderr } = await run(['erase', '--user', 'u1'], env);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /erased u1: 2 event\(s\)/);
    assert.deepEqual((await server.sql("SELECT count(*) FROM events WHERE user_id = 'u1'")).rows, [[0]]);
  });

  it('documents each command in --help', async () => {
    for (const args of [
      ['query', '--help'],
      ['sql', '--help'],
      ['export', '--help'],
      ['erase', '--help'],
    ]) {
      const { code, stdout } = await run(args, {});
      assert.equal(code, 0);
      assert.match(stdout, /Usage: tracklane/);
    }
  });
});
