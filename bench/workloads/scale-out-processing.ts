import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { EVENTS_TOPIC, toEventRecord } from '@tracklane/collector';
import type { TrackedEvent } from '@tracklane/core';
import { NatsLog } from '@tracklane/log-nats';
import { natsServerMissing, startNatsServer } from '@tracklane/log-nats/testing';
import { startStorageWriter } from '@tracklane/server';
import { PostgresStore } from '@tracklane/storage-postgres';
import { pgServerMissing, startPgServer } from '@tracklane/storage-postgres/testing';
import pg from 'pg';
import { pino } from 'pino';
import type { BenchContext, BenchResult, Workload } from '../result.ts';
import { GOAL, makeEvents, pgPlainInsert, WRITER_BATCH } from './scale-out-store.ts';

/**
 * The processing workload on the scaled-out parts: the storage writer (`startStorageWriter`, as `tracklane
 * processor` runs it) moving N events from a NatsLog topic into PostgresStore, vs a raw loop with the
 * official clients moving the same events: a durable JetStream pull consumer (ack policy "all") fetching up
 * to 2,000 messages, JSON.parse, one plain `INSERT ... VALUES` batch through pg in a transaction, then an
 * ack of the batch's last message. Both sides read one stream (a 1-partition topic for the writer) on one
 * nats-server, and write to the same PostgreSQL; the events are loaded into both streams before the clocks
 * start, and a side's time runs from its start until every event is in its table.
 */
const ROUNDS = 2;
const NS_PER_MS = 1_000_000;

interface Tally {
  events: number;
  ms: number;
  /** CPU time of this process (user + system); the servers' is not in it. */
  cpuUs: number;
}
const perSecond = (t: Tally) => (t.events / t.ms) * 1000;
const round3 = (n: number) => Math.round(n * 1000) / 1000;
const cpuSince = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return used.user + used.system;
};

async function loadRaw(js: JetStreamClient, events: TrackedEvent[], subject: string): Promise<void> {
  for (let i = 0; i < events.length; i += 500) {
    await Promise.all(
      events.slice(i, i + 500).map((e) => js.publish(subject, JSON.stringify(e), { msgID: e.messageId })),
    );
  }
}

async function rawLoop(js: JetStreamClient, stream: string, client: pg.Client, total: number): Promise<void> {
  const consumer = await js.consumers.get(stream, `raw-writer-${stream}`);
  let done = 0;
  while (done < total) {
    const messages = await consumer.fetch({ max_messages: WRITER_BATCH, expires: 1000 });
    const batch: TrackedEvent[] = [];
    let last: { ack(): void } | undefined;
    for await (const m of messages) {
      batch.push(m.json<TrackedEvent>());
      last = m;
    }
    if (batch.length === 0) throw new Error(`raw loop found no messages after ${done} of ${total}`);
    await pgPlainInsert(client, batch, false);
    // Ack policy "all": acking the last message of the batch acknowledges all of it, after it is stored.
    last?.ack();
    done += batch.length;
  }
}

async function writerRun(log: NatsLog, store: PostgresStore, client: pg.Client, total: number) {
  const base = await eventCount(client);
  // The raw loop's batch size, not the writer's default: like for like.
  const writer = await startStorageWriter(log, store, pino({ level: 'silent' }), undefined, WRITER_BATCH);
  try {
    // The writer retries a failing store or log forever (silently, with this logger): bound the wait.
    const deadline = Date.now() + 600_000;
    while (writer.written < total) {
      if (Date.now() > deadline) throw new Error(`the storage writer stored ${writer.written} of ${total}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await writer.stop();
  }
  const stored = (await eventCount(client)) - base;
  if (stored !== total) throw new Error(`the storage writer stored ${stored} of ${total} events`);
}

async function eventCount(client: pg.Client): Promise<number> {
  return (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]!.n;
}

async function measure(ctx: BenchContext, total: number): Promise<{ ours: Tally; raw: Tally }> {
  const nats = await startNatsServer();
  const server = await startPgServer().catch(async (err: unknown) => {
    await nats.stop();
    throw err;
  });
  const ours: Tally = { events: 0, ms: 0, cpuUs: 0 };
  const raw: Tally = { events: 0, ms: 0, cpuUs: 0 };
  const log = await NatsLog.open({
    servers: nats.servers,
    retentionCheckIntervalMs: 0,
    name: 'bench-writer',
  });
  const store = await PostgresStore.open({ connectionString: server.url });
  const nc = await connect({ servers: nats.servers, name: 'bench-raw' });
  const client = new pg.Client({ connectionString: server.url });
  try {
    await client.connect();
    await client.query('CREATE TABLE raw_events (LIKE events INCLUDING ALL) PARTITION BY RANGE (timestamp)');
    await client.query(
      `CREATE TABLE raw_events_y2026m01 PARTITION OF raw_events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')`,
    );
    await log.ensureTopic(EVENTS_TOPIC, { partitions: 1 });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    // Warm-up outside the timing: the store's month partition and both sides' statements.
    const warm = makeEvents(WRITER_BATCH, 'warm');
    await store.insertEvents(warm);
    await pgPlainInsert(client, warm, false);
    for (let round = 0; round < ROUNDS; round++) {
      ctx.progress(`round ${round + 1}: loading both streams`, round * 3, ROUNDS * 3);
      const events = makeEvents(total, `p${round}`);
      for (let i = 0; i < events.length; i += 500) {
        await log.append(EVENTS_TOPIC, events.slice(i, i + 500).map(toEventRecord));
      }
      const stream = `raw_events_${round}`;
      const subject = `raw.events.${round}`;
      // The settings of the log's partition streams (stream-config.ts): file storage, 2-minute dedup window.
      await jsm.streams.add({
        name: stream,
        subjects: [subject],
        storage: 'file',
        retention: 'limits',
        discard: 'old',
        num_replicas: 1,
        max_age: 0,
        max_bytes: -1,
        duplicate_window: 2 * 60 * 1000 * NS_PER_MS,
      } as Parameters<typeof jsm.streams.add>[0]);
      await loadRaw(js, events, subject);
      await jsm.consumers.add(stream, {
        durable_name: `raw-writer-${stream}`,
        ack_policy: 'all',
        // The default (1,000 unacknowledged) would cut every 2,000-message fetch short and make it wait out
        // its expiry.
        max_ack_pending: WRITER_BATCH * 2,
      } as Parameters<typeof jsm.consumers.add>[1]);
      ctx.progress(`round ${round + 1}: raw consume + INSERT loop`, round * 3 + 1, ROUNDS * 3);
      let cpu = process.cpuUsage();
      let started = performance.now();
      await rawLoop(js, stream, client, total);
      raw.ms += performance.now() - started;
      raw.cpuUs += cpuSince(cpu);
      raw.events += total;
      ctx.progress(`round ${round + 1}: storage writer`, round * 3 + 2, ROUNDS * 3);
      cpu = process.cpuUsage();
      started = performance.now();
      await writerRun(log, store, client, total);
      ours.ms += performance.now() - started;
      ours.cpuUs += cpuSince(cpu);
      ours.events += total;
    }
    const rawStored = (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM raw_events'))
      .rows[0]!.n;
    if (rawStored !== raw.events + WRITER_BATCH) throw new Error(`raw_events holds ${rawStored} rows`);
  } finally {
    await client.end().catch(() => undefined);
    await nc.close();
    await log.close();
    await store.close();
    await server.stop();
    await nats.stop();
  }
  return { ours, raw };
}

const workload: Workload = {
  name: 'scale-out-processing',
  description:
    'storage writer NatsLog -> PostgresStore vs a raw JetStream consume + pg INSERT loop, same events',
  async run(ctx) {
    const missing = natsServerMissing() ?? pgServerMissing();
    if (missing !== undefined) {
      process.stderr.write(`scale-out-processing skipped: ${missing}\n`);
      return [];
    }
    const total = ctx.quick ? 10_000 : 100_000;
    const { ours, raw } = await measure(ctx, total);
    const result: BenchResult = {
      workload: 'scale-out-processing',
      name: 'storage writer, NatsLog (1 node, 1 partition) -> PostgresStore, start to last event stored',
      value: Math.round(perSecond(ours)),
      unit: 'events/s',
      baseline: {
        name: 'raw loop: JetStream pull consumer fetch 2,000 + pg INSERT VALUES + ack',
        value: Math.round(perSecond(raw)),
      },
      ratio: round3(perSecond(ours) / perSecond(raw)),
      goal: GOAL,
      extra: {
        'events per round': total,
        rounds: String(ROUNDS),
        'Node CPU us/event, ours / raw': `${(ours.cpuUs / ours.events).toFixed(1)} / ${(raw.cpuUs / raw.events).toFixed(1)}`,
      },
    };
    return [result];
  },
};

export default workload;
