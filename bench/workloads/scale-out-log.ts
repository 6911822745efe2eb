import { randomBytes } from 'node:crypto';
import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, createInbox, headers, type NatsConnection } from '@nats-io/transport-node';
import type { RecordInput } from '@tracklane/log';
import { NatsLog } from '@tracklane/log-nats';
import { natsServerMissing, startNatsCluster, startNatsServer } from '@tracklane/log-nats/testing';
import type { BenchContext, BenchResult, Workload } from '../result.ts';

/**
 * The Log on JetStream beside the official client doing the same thing by hand, on one nats-server and on
 * a 3-node R3 cluster (all on loopback, sharing the machine's cores with this process):
 *
 * - append: the batch shape of log-append (300 B values, batches of 100, 4 appenders each awaiting every
 *   ack of its batch before the next), each record with a unique message id, so both sides publish with
 *   `Nats-Msg-Id` into a file stream with the same 2-minute duplicate window and replicas. The raw side is
 *   `js.publish(subject, value, { msgID })` for the 100 records of a batch at once, then all their acks.
 * - consume: a consumer group member polling (2,000 records a poll) every record of the log's partition
 *   stream, vs a raw ordered consumer (`js.consumers.get` + `consume`, same 256-message pulls as the
 *   log's feed) reading the same stream, from the first message, until it has them all.
 *
 * Rounds alternate raw and log so that a neighbour's burst of load hurts both alike.
 */
const RECORD_BYTES = 300;
const BATCH = 100;
const APPENDERS = 4;
const ROUNDS = 3;
const POLL_MAX = 2_000;
const PULL_BATCH = 256;
const NS_PER_MS = 1_000_000;
/** As stream-config.ts: JetStream's default dedup window, which the log keeps. */
const DUPLICATE_WINDOW_NS = 2 * 60 * 1000 * NS_PER_MS;

interface Tally {
  records: number;
  ms: number;
  /** CPU time of this process (user + system), which load from neighbours does not inflate as it does wall time. */
  cpuUs: number;
}

const tally = (): Tally => ({ records: 0, ms: 0, cpuUs: 0 });
/** `ours / raw` CPU microseconds per record of this process: the client side's own cost. */
const cpuPerRecord = (ours: Tally, raw: Tally) =>
  `${(ours.cpuUs / ours.records).toFixed(2)} / ${(raw.cpuUs / raw.records).toFixed(2)}`;

const perSecond = (t: Tally) => (t.records / t.ms) * 1000;
const round3 = (n: number) => Math.round(n * 1000) / 1000;
/** Issue 8's goal, at most 20% overhead over the raw client: our time <= 1.2x, so throughput >= 1/1.2. */
const GOAL = round3(1 / 1.2);

interface Setup {
  label: string;
  servers: string[];
  replicas: number;
  stop(): Promise<void>;
}

async function single(): Promise<Setup> {
  const node = await startNatsServer();
  return { label: '1 node', servers: node.servers, replicas: 1, stop: node.stop };
}

async function cluster(): Promise<Setup> {
  const c = await startNatsCluster(3);
  return { label: '3-node cluster, R3', servers: c.servers, replicas: 3, stop: c.stop };
}

/** The raw side's stream: the settings partitionStreamConfig gives the log's partition streams. */
async function rawStream(nc: NatsConnection, replicas: number): Promise<string> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: 'raw_bench',
    subjects: ['raw.bench'],
    storage: 'file',
    retention: 'limits',
    discard: 'old',
    num_replicas: replicas,
    max_age: 0,
    max_bytes: -1,
    duplicate_window: DUPLICATE_WINDOW_NS,
  } as Parameters<typeof jsm.streams.add>[0]);
  return 'raw.bench';
}

/** Records of one round: fresh message ids, so neither side's dedup window drops a retried id. */
function makeBatches(batches: number, values: Buffer[], round: number): RecordInput[][] {
  const out: RecordInput[][] = [];
  for (let b = 0; b < batches; b++) {
    const batch: RecordInput[] = new Array(BATCH);
    for (let i = 0; i < BATCH; i++) {
      batch[i] = { value: values[i]!, headers: { 'message-id': `r${round}-b${b}-${i}` } };
    }
    out.push(batch);
  }
  return out;
}

/** APPENDERS closed-loop appenders drawing batches from one queue, like log-append's logRound. */
async function appenders(batches: RecordInput[][], send: (batch: RecordInput[]) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: APPENDERS }, async () => {
      while (next < batches.length) await send(batches[next++]!);
    }),
  );
}

async function timed(into: Tally, records: number, run: () => Promise<void>): Promise<void> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run();
  into.ms += performance.now() - started;
  const used = process.cpuUsage(cpu);
  into.cpuUs += used.user + used.system;
  into.records += records;
}

async function rawPublish(js: JetStreamClient, subject: string, batch: RecordInput[]): Promise<void> {
  const acks = new Array<Promise<unknown>>(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const r = batch[i]!;
    acks[i] = js.publish(subject, r.value as Buffer, { msgID: r.headers!['message-id'] });
  }
  await Promise.all(acks);
}

/**
 * The fastest the raw client can publish with acks: core publishes carrying reply subjects under one
 * wildcard inbox, acks matched by the last token (what NatsLog's publisher does, without a Log around it).
 * Printed as a ceiling beside the js.publish baseline, so the figure shows what the Log itself costs.
 */
class PipelinedPublisher {
  private readonly inbox = createInbox();
  private readonly waiting = new Map<number, { resolve(): void; reject(err: Error): void }>();
  private next = 0;
  constructor(private readonly nc: NatsConnection) {
    nc.subscribe(`${this.inbox}.*`, {
      callback: (_err, msg) => {
        const id = Number(msg.subject.slice(this.inbox.length + 1));
        const w = this.waiting.get(id);
        this.waiting.delete(id);
        const ack = msg.json<{ seq?: number; error?: { description: string } }>();
        if (typeof ack.seq === 'number') w?.resolve();
        else w?.reject(new Error(`JetStream refused a publish: ${ack.error?.description}`));
      },
    });
  }

  async batch(subject: string, batch: RecordInput[]): Promise<void> {
    const acks = new Array<Promise<void>>(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      const id = ++this.next;
      acks[i] = new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject }));
      const h = headers();
      h.set('Nats-Msg-Id', r.headers!['message-id']!);
      this.nc.publish(subject, r.value as Buffer, { reply: `${this.inbox}.${id}`, headers: h });
    }
    await Promise.all(acks);
  }
}

async function logConsume(log: NatsLog, group: string, total: number): Promise<void> {
  const consumer = await log.consumer({ group, topics: ['bench'], from: 'earliest' });
  try {
    let seen = 0;
    let bytes = 0;
    while (seen < total) {
      const records = await consumer.poll({ maxRecords: POLL_MAX, timeoutMs: 1000 });
      if (records.length === 0) throw new Error(`log consumer stalled at ${seen} of ${total} records`);
      for (const r of records) bytes += r.value.length;
      seen += records.length;
    }
    if (bytes !== total * RECORD_BYTES) throw new Error(`log consumer read ${bytes} value bytes`);
  } finally {
    await consumer.close();
  }
}

async function rawConsume(js: JetStreamClient, stream: string, total: number): Promise<void> {
  const consumer = await js.consumers.get(stream, { opt_start_seq: 1 });
  try {
    const messages = await consumer.consume({ max_messages: PULL_BATCH });
    let seen = 0;
    let bytes = 0;
    for await (const m of messages) {
      bytes += m.data.length;
      if (++seen >= total) break;
    }
    // The log's messages carry its framing (timestamp, key, headers) around each 300 B value.
    if (seen !== total || bytes < total * RECORD_BYTES) {
      throw new Error(`raw consumer read ${seen} messages, ${bytes} bytes`);
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}

async function measure(ctx: BenchContext, setup: Setup, total: number, step: number, steps: number) {
  const appendLog = tally();
  const appendRaw = tally();
  const appendPipelined = tally();
  const readLog = tally();
  const readRaw = tally();
  const log = await NatsLog.open({
    servers: setup.servers,
    replicas: setup.replicas,
    retentionCheckIntervalMs: 0,
    name: 'bench-log',
  });
  const nc = await connect({ servers: setup.servers, name: 'bench-raw' });
  try {
    await log.ensureTopic('bench', { partitions: 1 });
    const subject = await rawStream(nc, setup.replicas);
    const js = jetstream(nc);
    const pipelined = new PipelinedPublisher(nc);
    const values = Array.from({ length: BATCH }, () => randomBytes(RECORD_BYTES));
    const perRound = Math.ceil(total / ROUNDS / BATCH);
    for (let round = 0; round < ROUNDS; round++) {
      ctx.progress(`${setup.label}: raw js.publish`, step + round, steps);
      const raw = makeBatches(perRound, values, round);
      await timed(appendRaw, perRound * BATCH, () => appenders(raw, (b) => rawPublish(js, subject, b)));
      ctx.progress(`${setup.label}: raw pipelined publish`, step + round, steps);
      const piped = makeBatches(perRound, values, round + ROUNDS);
      await timed(appendPipelined, perRound * BATCH, () =>
        appenders(piped, (b) => pipelined.batch(subject, b)),
      );
      ctx.progress(`${setup.label}: NatsLog.append`, step + round, steps);
      const ours = makeBatches(perRound, values, round);
      await timed(appendLog, perRound * BATCH, () => appenders(ours, (b) => log.append('bench', b)));
    }
    const stored = (await log.offsets('bench'))[0]!.end;
    if (stored !== appendLog.records) throw new Error(`log holds ${stored} of ${appendLog.records}`);
    for (let round = 0; round < ROUNDS; round++) {
      ctx.progress(`${setup.label}: consume`, step + ROUNDS + round, steps);
      await timed(readRaw, stored, () => rawConsume(js, 'tl_bench_0', stored));
      await timed(readLog, stored, () => logConsume(log, `bench-${round}`, stored));
    }
  } finally {
    await nc.close();
    await log.close();
  }
  return { appendLog, appendRaw, appendPipelined, readLog, readRaw };
}

const workload: Workload = {
  name: 'scale-out-log',
  description:
    'NatsLog append (300 B, batches of 100, 4 appenders, msg-id dedup) and group consume vs raw @nats-io/jetstream, 1 node and 3-node R3',
  async run(ctx) {
    const missing = natsServerMissing();
    if (missing !== undefined) {
      process.stderr.write(`scale-out-log skipped: ${missing}\n`);
      return [];
    }
    const total = ctx.quick ? 15_000 : 150_000;
    const results: BenchResult[] = [];
    const setups = [single, cluster];
    const steps = setups.length * ROUNDS * 2;
    for (const [i, start] of setups.entries()) {
      const setup = await start();
      let m: Awaited<ReturnType<typeof measure>>;
      try {
        m = await measure(ctx, setup, total, i * ROUNDS * 2, steps);
      } finally {
        await setup.stop();
      }
      const shape = `${setup.label}, 300 B, ${APPENDERS} appenders x batches of ${BATCH}, acked, Nats-Msg-Id`;
      results.push(
        {
          workload: 'scale-out-log',
          name: `NatsLog.append (${shape})`,
          value: Math.round(perSecond(m.appendLog)),
          unit: 'events/s',
          baseline: { name: 'raw js.publish of the same values', value: Math.round(perSecond(m.appendRaw)) },
          ratio: round3(perSecond(m.appendLog) / perSecond(m.appendRaw)),
          goal: GOAL,
          extra: {
            records: m.appendLog.records,
            rounds: String(ROUNDS),
            'raw pipelined core publish, acks on one inbox (ceiling), events/s': Math.round(
              perSecond(m.appendPipelined),
            ),
            'ratio to the ceiling': round3(perSecond(m.appendLog) / perSecond(m.appendPipelined)),
            'Node CPU us/record, ours / js.publish': cpuPerRecord(m.appendLog, m.appendRaw),
            'Node CPU us/record, ours / ceiling': cpuPerRecord(m.appendLog, m.appendPipelined),
          },
        },
        {
          workload: 'scale-out-log',
          name: `NatsLog consumer poll (${setup.label}, 1 partition, ${POLL_MAX} per poll, join to last record)`,
          value: Math.round(perSecond(m.readLog)),
          unit: 'events/s',
          baseline: {
            name: `raw ordered consumer on the same stream (pulls of ${PULL_BATCH})`,
            value: Math.round(perSecond(m.readRaw)),
          },
          ratio: round3(perSecond(m.readLog) / perSecond(m.readRaw)),
          goal: GOAL,
          extra: {
            'records per round': m.readLog.records / ROUNDS,
            rounds: String(ROUNDS),
            'Node CPU us/record, ours / raw': cpuPerRecord(m.readLog, m.readRaw),
          },
        },
      );
    }
    return results;
  },
};

export default workload;
