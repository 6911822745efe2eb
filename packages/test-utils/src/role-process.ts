import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.ts';
import { waitFor } from './wait-for.ts';

const BIN = fileURLToPath(new URL('../../cli/src/bin.ts', import.meta.url));

export interface RoleProcess {
  role: 'collector' | 'processor' | 'api';
  url: string;
  child: ChildProcess;
  output(): string;
  /** SIGKILL, like a power cut. */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<number | null>;
}

/**
 * Starts `tracklane collector|processor|api --config FILE` as a real child process on a free loopback
 * port (a processor gets one for /health) and waits until /health answers 200.
 */
export async function startRoleProcess(options: {
  role: RoleProcess['role'];
  config: string;
  dataDir: string;
  port?: number;
}): Promise<RoleProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      BIN,
      options.role,
      '--config',
      options.config,
      '--port',
      String(port),
      '--data-dir',
      options.dataDir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
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
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        // Stop waiting at once when it died; the error below carries its output.
        if (exitedEarly) return true;
        const response = await fetch(`${url}/health`).catch(() => undefined);
        return response?.status === 200;
      },
      { timeoutMs: 30_000, what: `tracklane ${options.role} on ${url}` },
    );
    if (exitedEarly) throw new Error(`tracklane ${options.role} exited during start`);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n--- output ---\n${output}`);
  }
  return {
    role: options.role,
    url,
    child,
    output: () => output,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
