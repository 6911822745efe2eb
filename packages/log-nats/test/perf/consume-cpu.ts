/**
 * CPU time per record of a NatsLog consumer-group member beside a raw ordered consumer, on the same stream
 * of one real nats-server: the consume half of `npm run bench -- scale-out-log` (issue 8), without the
 * append half and the cluster, so it can run often and under a profiler. CPU time (process.cpuUsage: user +
 * system), not wall-clock, so a busy shared machine blurs the figures less than events/s.
 *
 *   node --import tsx packages/log-nats/test/perf/consume-cpu.ts [--rounds 5] [--records 150000]
 *     [--only log|raw] [--prof <dir>] [name=/path/to/a/checkout ...]
 *
 * Each named checkout (default: this one, as "here") runs in a child process of its own, reading the same
 * stream; the children take turns round after round, each round a raw read then a group read, so load
 * drifting on the machine weighs on all of them alike (after one uncounted read of each side, for the JIT). `--prof <dir>` runs the children under
 * `node --cpu-prof` (with `--only log`, the profile holds the group member's reads only). To compare with
 * an older commit: `git archive <commit> packages/log-nats | tar -x -C /tmp/old` and link
 * /tmp/old/node_modules to this checkout's.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { RecordInput } from '@tracklane/log';
import { NatsLog } from '../../src/nats-log.ts';
import { natsServerMissing, startNatsServer } from '../nats-server.ts';

const SELF = fileURLToPath(import.meta.url);
const HERE = resolve(SELF, '../../../../..');
/** The bench's shapes (bench/workloads/scale-out-log.ts). */
const RECORD_BYTES = 300;
const POLL_MAX = 2_000;
const PULL_BATCH = 256;
const TOPIC = 'bench';
const STREAM = 'tl_bench_0';
const STALL_MS = 10_000;

type Side = 'log' | 'raw';
interface Answer {
  /** CPU microseconds per record, and the system part of them. */
  us: number;
  sys: number;
  /** Time in garbage collection per record (microseconds), part of `us`. */
  gc: number;
  perSecond: number;
}
interface Ask {
  side: Side;
  group: string;
}

let gcMs = 0;

/** The child: one checkout's NatsLog, answering reads of the whole stream with CPU microseconds per record. */
async function child(root: string, servers: string, total: number): Promise<void> {
  // Imported by path from the checkout under test, so two checkouts can be compared side by side.
  const { NatsLog: Log } = (await import(join(root, 'packages/log-nats/src/nats-log.ts'))) as {
    NatsLog: typeof NatsLog;
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  }).observe({ entryTypes: ['gc'] });
  const log = await Log.open({ servers, retentionCheckIntervalMs: 0, name: 'perf-log' });
  const nc = await connect({ servers, name: 'perf-raw' });
  const js = jetstream(nc);

  const logRead = async (group: string) => {
    const consumer = await log.consumer({ group, topics: [TOPIC], from: 'earliest' });
    try {
      let seen = 0;
      let bytes = 0;
      while (seen < total) {
        const records = await consumer.poll({ maxRecords: POLL_MAX, timeoutMs: 1000 });
        if (records.length === 0) throw new Error(`log consumer stalled at ${seen} of ${total}`);
        for (const r of records) bytes += r.value.length;
        seen += records.length;
      }
      if (bytes !== total * RECORD_BYTES) throw new Error(`log consumer read ${bytes} value bytes`);
    } finally {
      await consumer.close();
    }
  };
  const rawRead = async () => {
    const consumer = await js.consumers.get(STREAM, { opt_start_seq: 1 });
    try {
      const messages = await consumer.consume({ max_messages: PULL_BATCH });
      let seen = 0;
      let bytes = 0;
      // A read that stops getting messages ends (and fails below) instead of hanging the run.
      let before = -1;
      const stall = setInterval(() => {
        if (seen === before) void messages.close();
        before = seen;
      }, STALL_MS);
      try {
        for await (const m of messages) {
          bytes += m.data.length;
          if (++seen >= total) break;
        }
      } finally {
        clearInterval(stall);
      }
      if (seen !== total || bytes < total * RECORD_BYTES) throw new Error(`raw read ${seen}, ${bytes} B`);
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  };
  process.send?.('ready');
  process.on('message', (message: Ask | 'close') => {
    if (message === 'close') {
      void nc
        .close()
        .then(() => log.close())
        .then(() => process.exit(0));
      return;
    }
    gcMs = 0;
    const before = process.cpuUsage();
    const started = performance.now();
    const read = message.side === 'log' ? logRead(message.group) : rawRead();
    read.then(
      () => {
        const used = process.cpuUsage(before);
        const ms = performance.now() - started;
        process.send?.({
          us: (used.user + used.system) / total,
          sys: used.system / total,
          gc: (gcMs * 1000) / total,
          perSecond: (total / ms) * 1000,
        });
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}

async function load(servers: string, total: number): Promise<void> {
  const log = await NatsLog.open({ servers, retentionCheckIntervalMs: 0, name: 'perf-load' });
  try {
    await log.ensureTopic(TOPIC, { partitions: 1 });
    const values = Array.from({ length: 100 }, () => randomBytes(RECORD_BYTES));
    const inFlight: Promise<unknown>[] = [];
    for (let b = 0; b * 100 < total; b++) {
      const batch: RecordInput[] = values.map((value, i) => ({
        value,
        headers: { 'message-id': `r0-b${b}-${i}` },
      }));
      inFlight.push(log.append(TOPIC, batch));
      if (inFlight.length >= 4) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } finally {
    await log.close();
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      rounds: { type: 'string', default: '5' },
      records: { type: 'string', default: '150000' },
      only: { type: 'string' },
      prof: { type: 'string' },
      child: { type: 'string' },
      servers: { type: 'string' },
    },
  });
  const total = Number(values.records);
  if (values.child !== undefined) {
    await child(values.child, values.servers!, total);
    return;
  }
  const missing = natsServerMissing();
  if (missing !== undefined) throw new Error(missing);
  const node = await startNatsServer();
  try {
    const servers = node.servers[0]!;
    await load(servers, total);
    const trees = positionals.length === 0 ? [`here=${HERE}`] : positionals;
    const execArgv = ['--import', 'tsx'];
    if (values.prof) execArgv.push('--cpu-prof', `--cpu-prof-dir=${values.prof}`);
    const children: Array<{ name: string; proc: ChildProcess; ready: Promise<void> }> = [];
    for (const tree of trees) {
      const [name, root] = tree.split('=') as [string, string];
      const args = ['--child', root, '--servers', servers, '--records', String(total)];
      const proc = fork(SELF, args, { execArgv });
      proc.once('exit', (code) => {
        if (code === 0) return;
        // A failed read: stop the other children and the server rather than wait for an answer forever.
        console.error(`${name}'s process exited with ${code}`);
        for (const c of children) c.proc.kill();
        void node.stop().finally(() => process.exit(1));
      });
      const ready = new Promise<void>((resolve) => proc.once('message', () => resolve()));
      children.push({ name, proc, ready });
    }
    await Promise.all(children.map((c) => c.ready));
    const ask = (c: (typeof children)[number], a: Ask) =>
      new Promise<Answer>((resolve) => {
        c.proc.once('message', (m) => resolve(m as Answer));
        c.proc.send(a);
      });
    const sides: Side[] = values.only ? [values.only as Side] : ['raw', 'log'];
    const answers = new Map(children.map((c) => [c.name, { log: [] as Answer[], raw: [] as Answer[] }]));
    // A first read of each side warms the JIT up; it is not counted.
    for (const c of children) for (const side of sides) await ask(c, { side, group: `perf-${c.name}-warm` });
    for (let round = 0; round < Number(values.rounds); round++) {
      const order = round % 2 === 0 ? children : [...children].reverse();
      for (const c of order) {
        for (const side of sides) {
          answers.get(c.name)![side].push(await ask(c, { side, group: `perf-${c.name}-${round}` }));
        }
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    for (const [name, bySide] of answers) {
      const line = [`${name}:`];
      const us = (side: Side) => bySide[side].map((a) => a.us);
      for (const side of sides) {
        const of = (field: keyof Answer) => median(bySide[side].map((a) => a[field]));
        line.push(
          `${side} ${of('us').toFixed(2)} us/record (${us(side)
            .map((x) => x.toFixed(2))
            .join(', ')}; ` +
            `system ${of('sys').toFixed(2)}, GC ${of('gc').toFixed(2)}; ${Math.round(of('perSecond'))}/s)`,
        );
      }
      if (sides.length === 2) {
        const raw = us('raw');
        const ratios = us('log').map((x, i) => x / raw[i]!);
        line.push(
          `log/raw CPU ${median(ratios).toFixed(2)}x (${ratios.map((x) => x.toFixed(2)).join(', ')})`,
        );
      }
      console.log(line.join('  '));
    }
    for (const c of children) {
      c.proc.send('close');
      await new Promise((resolve) => c.proc.once('exit', resolve));
    }
  } finally {
    await node.stop();
  }
}

await main();
