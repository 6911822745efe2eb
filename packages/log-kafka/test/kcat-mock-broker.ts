import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

/**
 * The only Kafka-protocol server obtainable here: librdkafka's built-in mock cluster, reachable through
 * Debian's `kcat` (`-X test.mock.num.brokers=1`). The mock lives inside the kcat process and listens on a
 * loopback port that librdkafka logs at start-up.
 */
export function kcatMissing(): string | undefined {
  const probe = spawnSync('kcat', ['-V'], { encoding: 'utf8' });
  return probe.error || probe.status !== 0 ? 'kcat not installed (apt-get install -y kcat)' : undefined;
}

export interface MockBroker {
  address: string;
  stop(): Promise<void>;
}

export async function startKcatMockBroker(): Promise<MockBroker> {
  // A producer reading stdin keeps the process (and so the mock cluster) alive until we close stdin.
  const child: ChildProcess = spawn(
    'kcat',
    ['-b', '127.0.0.1:1', '-X', 'test.mock.num.brokers=1', '-P', '-t', 'tracklane-probe'],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let log = '';
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kcat mock cluster did not start:\n${log}`)), 10_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-16_000);
      const m = /replaced with (127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`kcat exited:\n${log}`));
    });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw err;
  });
  return {
    address,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
