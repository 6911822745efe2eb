import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import type { TrackedEvent } from '@tracklane/core';
import { DuckDbStore } from '@tracklane/storage';
import { makeTempDir, type TempDir } from '@tracklane/test-utils';

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], { env: { ...process.env } });
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

const page = (id: string, timestamp: string) =>
  ({
    type: 'page',
    properties: { path: '/' },
    messageId: id,
    anonymousId: 'a',
    timestamp,
    receivedAt: timestamp,
    sourceId: 'src',
  }) as TrackedEvent;

describe('tracklane export --offline, on a stopped data dir', () => {
  let dir: TempDir;
  let database: string;
  before(async () => {
    dir = await makeTempDir();
    database = join(dir.path, 'tracklane.duckdb');
    const store = await DuckDbStore.open(database);
    await store.insertEvents([
      page('m1', '2026-02-01T10:00:00Z'),
      page('m2', '2026-02-01T23:59:59Z'),
      page('m3', '2026-02-02T00:00:00Z'),
      page('m4', '2026-02-03T00:00:00Z'),
    ]);
    await store.close();
  });
  after(() => dir.remove());

  it('exports the days asked for from the database, with no server running', async () => {
    const out = join(dir.path, 'lake');
    const args = ['export', '--offline', '--data-dir', dir.path, '--out', out];
    const { code, stdout, stderr } = await run([...args, '--from', '2026-02-01', '--to', '2026-02-03']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /exported 3 event\(s\) in 2 day partition\(s\)/);
    assert.deepEqual((await readdir(out)).sort(), ['date=2026-02-01', 'date=2026-02-02']);
    const reader = await (await DuckDBInstance.create(':memory:')).connect();
    const rows = await reader.runAndReadAll(
      `SELECT CAST(date AS VARCHAR) AS d, list(message_id ORDER BY message_id)
       FROM read_parquet('${out}/*/*.parquet', hive_partitioning = true) GROUP BY d ORDER BY d`,
    );
    assert.deepEqual(rows.getRowsJS(), [
      ['2026-02-01', ['m1', 'm2']],
      ['2026-02-02', ['m3']],
    ]);
  });

  it('says which process holds the database when a server has it open', async () => {
    const server = await DuckDbStore.open(database);
    try {
      const { code, stderr } = await run([
        'export',
        '--offline',
        '--data-dir',
        dir.path,
        '--out',
        join(dir.path, 'x'),
      ]);
      assert.equal(code, 1);
      assert.match(stderr, /E_NOT_READY/);
      assert.match(
        stderr,
        new RegExp(`is open in a running Tracklane \\(PID ${process.pid}\\b.*stop it first`),
      );
    } finally {
      await server.close();
    }
  });

  it('says so when the data dir has no database', async () => {
    const { code, stderr } = await run([
      'export',
      '--offline',
      '--data-dir',
      join(dir.path, 'nowhere'),
      '--out',
      join(dir.path, 'y'),
    ]);
    assert.equal(code, 1);
    assert.match(stderr, /no Tracklane database at .*nowhere.*--data-dir \(E_NOT_FOUND\)/);
  });
});
