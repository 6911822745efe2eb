import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort, makeTempDir, type TempDir } from '@tracklane/test-utils';

/**
 * Real nats-server processes for tests: loopback only, a fresh temp store, stopped (SIGKILL if SIGTERM is
 * ignored) when the test ends. Exported as `@tracklane/log-nats/testing` for the topology and fault tests.
 */

export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? 'nats-server';

/** Why NATS tests must skip, or undefined when `nats-server` can run. */
export function natsServerMissing(): string | undefined {
  const probe = spawnSync(NATS_SERVER_BIN, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return `nats-server not installed (${NATS_SERVER_BIN}); install it with: apt-get install -y nats-server`;
  }
  return undefined;
}

export interface NatsNode {
  name: string;
  port: number;
  url: string;
  clusterPort: number | undefined;
  storeDir: string;
  child: ChildProcess;
  output(): string;
  /** SIGKILL, like a power cut; the store stays for a restart. */
  kill(): Promise<void>;
  /** Starts the node again on the same ports and store (after kill/stop). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface NatsCluster {
  nodes: NatsNode[];
  /** Every node's client URL, for `servers`. */
  servers: string[];
  stop(): Promise<void>;
}

interface NodeSpec {
  name: string;
  port: number;
  storeDir: string;
  cluster?: { name: string; port: number; routes: number[] };
}

function argsFor(spec: NodeSpec): string[] {
  const args = ['-a', '127.0.0.1', '-p', String(spec.port), '-js', '-sd', spec.storeDir, '-n', spec.name];
  if (spec.cluster) {
    args.push(
      '--cluster_name',
      spec.cluster.name,
      '--cluster',
      `nats://127.0.0.1:${spec.cluster.port}`,
      '--routes',
      spec.cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(','),
    );
  }
  return args;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function launch(spec: NodeSpec): Promise<NatsNode> {
  let output = '';
  let child!: ChildProcess;
  let exited!: Promise<void>;
  const start = async () => {
    child = spawn(NATS_SERVER_BIN, argsFor(spec), { stdio: ['ignore', 'pipe', 'pipe'] });
    const append = (chunk: Buffer) => {
      // Bounded: a chatty server must not grow test memory without limit.
      output = (output + chunk.toString()).slice(-64_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 10_000;
    while (!(await portOpen(spec.port))) {
      if (child.exitCode !== null) throw new Error(`nats-server ${spec.name} exited:\n${output}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`nats-server ${spec.name} did not listen on ${spec.port}:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    name: spec.name,
    port: spec.port,
    url: `nats://127.0.0.1:${spec.port}`,
    clusterPort: spec.cluster?.port,
    storeDir: spec.storeDir,
    get child() {
      return child;
    },
    output: () => output,
    kill: () => stopWith('SIGKILL'),
    stop: () => stopWith('SIGTERM'),
    restart: start,
  };
}

/** One JetStream-enabled nats-server on a free loopback port with a temp store. */
export async function startNatsServer(): Promise<NatsNode & { servers: string[] }> {
  const dir = await makeTempDir('tracklane-nats-');
  const node = await launch({ name: 'n1', port: await freePort(), storeDir: join(dir.path, 'n1') }).catch(
    async (err: unknown) => {
      await dir.remove();
      throw err;
    },
  );
  const stop = node.stop;
  return Object.assign(node, {
    servers: [node.url],
    stop: async () => {
      await stop();
      await dir.remove();
    },
  });
}

/** A cluster of `size` (default 3) JetStream nodes routed over loopback, for R3 streams. */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchCluster(size);
    } catch (err) {
      // freePort() cannot reserve a port: on a busy machine another process may bind it before the node
      // does. Every node then starts again on fresh ports, as the routes name them all.
      if (attempt >= 3 || !/address already in use/.test(String(err))) throw err;
    }
  }
}

async function launchCluster(size: number): Promise<NatsCluster> {
  const dir: TempDir = await makeTempDir('tracklane-nats-cluster-');
  const ports: number[] = [];
  const clusterPorts: number[] = [];
  for (let i = 0; i < size; i++) {
    ports.push(await freePort());
    clusterPorts.push(await freePort());
  }
  // A name of its own, so that a route to a port since taken by another test's cluster is refused
  // rather than merging the two clusters.
  const name = `tracklane-${randomBytes(4).toString('hex')}`;
  const nodes: NatsNode[] = [];
  const stopAll = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await dir.remove();
  };
  try {
    for (let i = 0; i < size; i++) {
      nodes.push(
        await launch({
          name: `n${i + 1}`,
          port: ports[i]!,
          storeDir: join(dir.path, `n${i + 1}`),
          cluster: { name, port: clusterPorts[i]!, routes: clusterPorts.filter((_, j) => j !== i) },
        }),
      );
    }
    await waitForJetStream(nodes.map((n) => n.url));
  } catch (err) {
    await stopAll();
    throw err;
  }
  return { nodes, servers: nodes.map((n) => n.url), stop: stopAll };
}

/**
 * Waits until the JetStream API answers, i.e. a cluster has elected its meta leader; before that, creating
 * streams times out. Listening ports alone do not mean that.
 */
export async function waitForJetStream(servers: string[], timeoutMs = 30_000): Promise<void> {
  const nc = await connect({ servers, maxReconnectAttempts: -1 });
  try {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 1000 });
        await jsm.getAccountInfo();
        return;
      } catch (err) {
        lastError = err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(
      `JetStream not ready on ${servers.join(',')} after ${timeoutMs} ms: ${String(lastError)}`,
    );
  } finally {
    await nc.close();
  }
}
