import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait-for.ts';

const BIN = fileURLToPath(new URL('../../cli/src/bin.ts', import.meta.url));

export interface TracklaneProcess {
  url: string;
  port: number;
  writeKey: string;
  apiKey: string;
  child: ChildProcess;
  /** Everything the process printed so far (stdout + stderr). */
  output(): string;
  /** SIGTERM and wait for a clean exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, like a power cut. */
  kill(): Promise<void>;
  /** POST JSON with the write key as HTTP Basic username. */
  send(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Runs SQL through /api/sql; throws on a non-200 answer. */
  sql(sql: string): Promise<{ columns: string[]; rows: unknown[][] }>;
}

export interface StartOptions {
  dataDir: string;
  port?: number;
  writeKey?: string;
  apiKey?: string;
  extraArgs?: string[];
  env?: Record<string, string>;
}

const RUNNING_AT = /Tracklane is running at (http:\/\/127\.0\.0\.1:(\d+))/;

/**
 * Starts `tracklane start` as a real child process on a loopback port and waits for /health. Without a
 * `port`, the server binds port 0 and the test reads the port it got from its banner: a port picked
 * beforehand can be taken by another test's server before this one binds it, and this test's health
 * check would then be answered by the other server.
 */
export async function startTracklaneProcess(options: StartOptions): Promise<TracklaneProcess> {
  const writeKey = options.writeKey ?? 'wk_test_key';
  const apiKey = options.apiKey ?? 'ak_test_key';
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      BIN,
      'start',
      '--port',
      String(options.port ?? 0),
      '--host',
      '127.0.0.1',
      '--data-dir',
      options.dataDir,
      '--write-key',
      writeKey,
      '--api-key',
      apiKey,
      '--log-level',
      'warn',
      ...(options.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitedEarly = false;
  void exited.then(() => {
    exitedEarly = true;
  });
  let port = options.port ?? 0;
  let url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (exitedEarly) throw new Error(`tracklane exited during start:\n${output}`);
        // The banner is printed once the server listens, with the port it bound.
        const banner = RUNNING_AT.exec(output);
        if (banner === null) return false;
        url = banner[1]!;
        port = Number(banner[2]);
        const response = await fetch(`${url}/health`);
        return response.status === 200;
      },
      { timeoutMs: 30_000, what: 'tracklane to listen and answer /health' },
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n--- output ---\n${output}`);
  }
  const basic = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
  return {
    url,
    port,
    writeKey,
    apiKey,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
    send(path, body, headers = {}) {
      return fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: basic, ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
    async sql(sql) {
      const response = await fetch(`${url}/api/sql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ sql }),
      });
      const body = (await response.json()) as { columns: string[]; rows: unknown[][] };
      if (response.status !== 200)
        throw new Error(`sql failed (${response.status}): ${JSON.stringify(body)}`);
      return body;
    },
  };
}

export interface TracklaneService {
  url: string;
  /** Starts (or restarts, on the same port and data dir) the server. */
  start(): Promise<void>;
  /** SIGTERM and wait; a no-op when not running. */
  stop(): Promise<void>;
  /** Runs SQL through /api/sql and returns rows as objects keyed by column name. */
  sql<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  output(): string;
}

/** A `tracklane start` that a test can stop and start again, like an operator restarting it mid-session. */
export function tracklaneService(options: StartOptions & { port: number }): TracklaneService {
  let current: TracklaneProcess | undefined;
  let previousOutput = '';
  return {
    url: `http://127.0.0.1:${options.port}`,
    async start() {
      current = await startTracklaneProcess(options);
    },
    async stop() {
      const running = current;
      current = undefined;
      if (running === undefined) return;
      await running.stop();
      previousOutput += running.output();
    },
    async sql<T>(sql: string): Promise<T[]> {
      if (current === undefined) throw new Error('tracklane is not running');
      const { columns, rows } = await current.sql(sql);
      return rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]]))) as T[];
    },
    output: () => previousOutput + (current?.output() ?? ''),
  };
}
