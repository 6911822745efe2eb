import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '@tracklane/test-utils';

const repo = join(import.meta.dirname, '..', '..', '..');

/** A real `tracklane start` child process; `stop()` and `start()` again reuse its port and data dir. */
export function tracklaneProcess(options: {
  port: number;
  dataDir: string;
  writeKey: string;
  apiKey: string;
}) {
  const url = `http://127.0.0.1:${options.port}`;
  let child: ChildProcess | undefined;
  let output = '';
  return {
    url,
    output: () => output,
    async start() {
      child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(repo, 'packages/cli/src/bin.ts'),
          'start',
          '--port',
          String(options.port),
          '--data-dir',
          options.dataDir,
          '--write-key',
          options.writeKey,
          '--api-key',
          options.apiKey,
        ],
        { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      const c = child;
      const exited = new Promise((_, reject) =>
        c.once('exit', (code) => reject(new Error(`tracklane start exited with ${code}:\n${output}`))),
      );
      exited.catch(() => {});
      await Promise.race([
        waitFor(async () => (await fetch(`${url}/health`)).ok, {
          timeoutMs: 30_000,
          what: 'tracklane /health',
        }),
        exited,
      ]);
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    },
    async sql<T = unknown[]>(sql: string): Promise<T[]> {
      const res = await fetch(`${url}/api/sql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sql }),
      });
      if (!res.ok) throw new Error(`sql failed: ${res.status} ${await res.text()}`);
      const { columns, rows } = (await res.json()) as { columns: string[]; rows: unknown[][] };
      return rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))) as T[];
    },
  };
}
