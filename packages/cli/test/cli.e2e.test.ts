import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, makeTempDir, waitFor } from '@tracklane/test-utils';

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

function runCli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', BIN, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
}

/** Starts `tracklane start` with no keys given and returns what it printed once it is serving. */
async function startAndCapture(
  dataDir: string,
): Promise<{ output: string; stop: () => Promise<number | null> }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', BIN, 'start', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await waitFor(() => output.includes('Ctrl-C to stop'), { timeoutMs: 30_000, what: 'the start banner' });
  return {
    output,
    stop: async () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

describe('tracklane CLI', () => {
  it('documents start and its options in --help', () => {
    const top = runCli(['--help']);
    assert.equal(top.status, 0);
    assert.match(top.stdout, /start \[options\]\s+run the whole pipeline/);
    const start = runCli(['start', '--help']);
    assert.equal(start.status, 0);
    for (const flag of ['--port', '--data-dir', '--write-key', '--api-key', 'TRACKLANE_PORT']) {
      assert.ok(start.stdout.includes(flag), `start --help mentions ${flag}`);
    }
  });

  it('rejects a bad port with a clear message', () => {
    const result = runCli(['start', '--port', 'eighty']);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /expected a port number/);
  });

  it('generates keys on first start, prints them, saves them privately and reuses them', async () => {
    await using dir = await makeTempDir();
    const first = await startAndCapture(dir.path);
    assert.equal(await first.stop(), 0);
    const url = first.output.match(/running at (http:\/\/127\.0\.0\.1:\d+)/)?.[1];
    const writeKey = first.output.match(/write key\s+(wk_\S+)/)?.[1];
    const apiKey = first.output.match(/API key\s+(ak_\S+)/)?.[1];
    assert.ok(url && writeKey && apiKey, first.output);
    const saved = JSON.parse(await readFile(join(dir.path, 'keys.json'), 'utf8'));
    assert.equal(saved.sources[0].writeKey, writeKey);
    assert.deepEqual(saved.apiKeys, [apiKey]);
    assert.equal((await stat(join(dir.path, 'keys.json'))).mode & 0o777, 0o600);

    const second = await startAndCapture(dir.path);
    assert.equal(await second.stop(), 0);
    // Reused keys are not newly generated, so they are masked rather than printed again.
    assert.ok(second.output.includes(`write key  ${writeKey.slice(0, 6)}…`), second.output);
    assert.ok(!second.output.includes(writeKey));
  });
});
