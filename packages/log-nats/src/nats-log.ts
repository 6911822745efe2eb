import { debuglog } from 'node:util';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { TracklaneError } from '@tracklane/core';
import {
  type AppendAck,
  type Consumer,
  type ConsumerOptions,
  type Log,
  type LogRecord,
  type PartitionOffsets,
  partitionForKey,
  type ReadOptions,
  type RecordInput,
  SingleFlight,
  type TopicConfig,
  type TopicDescription,
  type TopicPartitionOffset,
} from '@tracklane/log';
import { Names, token, untoken, validateName } from './names.ts';
import { type ConsumerHost, NatsConsumer } from './nats-consumer.ts';
import { Publisher } from './publisher.ts';
import { decodeRecord, encodeRecord } from './record-codec.ts';
import { partitionStreamConfig } from './stream-config.ts';
import { isTransient, retryTransient } from './transient.ts';

/** `NODE_DEBUG=tracklane-nats` traces connection changes (see docs/scaling-out.md). */
const debug = debuglog('tracklane-nats');

export interface NatsLogOptions {
  /** NATS URLs, e.g. `nats://127.0.0.1:4222`; several for a cluster. */
  servers: string | string[];
  /** Prefix of every stream, subject and bucket, so installations can share a cluster. Default `tl`. */
  namespace?: string;
  /** Replicas of every stream and bucket (1, 3 or 5; at most the cluster size). Default 1. */
  replicas?: number;
  /** A group member silent this long is presumed dead and its partitions move. Default 10 000. */
  sessionTimeoutMs?: number;
  /** Interval of the background retention pass; 0 disables the timer. Default 60 000. */
  retentionCheckIntervalMs?: number;
  /** Connection name shown by the server's monitoring. */
  name?: string;
}

interface TopicState {
  description: TopicDescription;
  subjects: string[];
  streams: string[];
  /** Next partition for a keyless record. */
  roundRobin: number;
}

const DEFAULT_READ_MAX_RECORDS = 1000;
const DEFAULT_READ_MAX_BYTES = 1 << 20;
/** Reads this small fetch by sequence (one round trip each, pipelined) instead of creating a consumer. */
const DIRECT_READ_MAX = 8;
const READ_EXPIRES_MS = 5000;
/** Records read by sequence when a consumer cannot be created. */
const FALLBACK_READ_MAX = 100;
const MESSAGE_ID_HEADER = 'message-id';

function closedError(): TracklaneError {
  return new TracklaneError('E_LOG_CLOSED', 'the log is closed; open it again to continue');
}

function positiveInt(value: unknown, what: string): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < 1)) {
    throw new TracklaneError('E_BAD_ARGUMENT', `${what} must be a positive integer, got ${String(value)}`);
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return e?.api_error?.err_code === 10059 || e?.code === 404 || /not found/i.test(String(e?.message ?? ''));
}

/**
 * The Log on NATS JetStream.
 *
 *   stream  <ns>_<topic>_<p>, subject <ns>.<topic>.<p>   one stream per partition: offset = sequence - 1
 *   KV <ns>_topics    topic -> TopicDescription           written once, first creator wins
 *   KV <ns>_offsets   <group>.<topic>.<p> -> offset       committed offsets
 *   KV <ns>_members   <group>.<member> -> MemberInfo      heartbeats (bucket max_age expires the dead)
 *   KV <ns>_owners    <group>.<topic>.<p> -> member       partition claims (nats-consumer.ts)
 *
 * A stream per partition is what gives contiguous per-partition offsets: JetStream numbers messages per
 * stream, and a shared stream with a subject per partition would interleave their sequences. Reads by
 * offset are then a get-by-sequence or an ordered consumer starting at offset + 1, and a partition's range
 * is its stream's first/last sequence. Retention, replication and dedup windows are per stream, i.e. per
 * partition, like Kafka's. Server features used all exist in nats-server 2.9: JetStream file streams, KV
 * (max_age buckets, compare-and-set create/update), Nats-Msg-Id dedup, purge up to a sequence, STREAM.MSG.GET
 * (answered by the stream leader, so a read sees every acknowledged append) and 2.9's named
 * ephemeral consumers used by ordered consumers. Direct get is deliberately not used, for streams or KV buckets:
 * replicas answering it may lag the leader, breaking read-your-writes.
 */
export class NatsLog implements Log {
  private readonly topics = new Map<string, TopicState>();
  private readonly loading = new Map<string, Promise<TopicState>>();
  private readonly consumers = new Set<NatsConsumer>();
  private readonly host: ConsumerHost;
  private retentionTimer: NodeJS.Timeout | null = null;
  private readonly retention = new SingleFlight(() => this.applyRetention());
  private closing: Promise<void> | null = null;
  private readonly publisher: Publisher;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly names: Names,
    private readonly replicas: number,
    private readonly buckets: { topics: KV; offsets: KV; members: KV; owners: KV },
    sessionTimeoutMs: number,
  ) {
    this.publisher = new Publisher(nc);
    this.traceStatus().catch(() => undefined);
    this.host = {
      js,
      jsm,
      names,
      members: buckets.members,
      owners: buckets.owners,
      offsets: buckets.offsets,
      sessionTimeoutMs,
      range: (topic, partition) => this.range(this.partitionStream(topic, partition)),
      readBySequence: (topic, partition, from, count) =>
        this.readBySequence(topic, partition, this.partitionStream(topic, partition), from, count),
      commit: (group, offsets) => this.commitOffsets(group, offsets),
      assertOpen: () => this.assertOpen(),
      forget: (consumer) => this.consumers.delete(consumer),
    };
  }

  /**
   * Puts this connection's disconnects and reconnects in the `NODE_DEBUG=tracklane-nats` trace, so that a
   * node-loss run shows which member moved to which server and when, next to the feed restarts.
   */
  private async traceStatus(): Promise<void> {
    const id = this.nc.info?.client_id;
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect')
        debug('connection %s: %s %s', id, s.type, s.server);
    }
  }

  static async open(options: NatsLogOptions): Promise<NatsLog> {
    const names = new Names(options.namespace ?? 'tl');
    const replicas = options.replicas ?? 1;
    if (![1, 3, 5].includes(replicas)) {
      throw new TracklaneError('E_CONFIG', `NATS replicas must be 1, 3 or 5, got ${replicas}`);
    }
    const sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
    positiveInt(sessionTimeoutMs, 'sessionTimeoutMs');
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: options.servers, name: options.name ?? 'tracklane' });
    } catch (err) {
      throw new TracklaneError(
        'E_NOT_READY',
        `cannot connect to NATS at ${String(options.servers)}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    try {
      const js = jetstream(nc);
      // Checks the JetStream API answers: it does not while the cluster elects its meta leader (a node
      // was just lost, or the cluster just started), for a few seconds.
      const jsm = await retryTransient(() => jetstreamManager(nc));
      const kvm = new Kvm(js);
      // allow_direct off: direct gets may be answered by a replica that has not applied the latest write,
      // and a committed offset or a topic just created must be visible to the next read.
      const bucket = { history: 1, replicas, storage: 'file' as const, allow_direct: false };
      const [topics, offsets, members, owners] = await Promise.all([
        retryTransient(() => kvm.create(names.topicsBucket, bucket)),
        retryTransient(() => kvm.create(names.offsetsBucket, bucket)),
        // History 1 and max_age: a member that stops heartbeating disappears without anyone deleting it.
        retryTransient(() => kvm.create(names.membersBucket, { ...bucket, ttl: sessionTimeoutMs })),
        retryTransient(() => kvm.create(names.ownersBucket, bucket)),
      ]);
      const log = new NatsLog(
        nc,
        js,
        jsm,
        names,
        replicas,
        { topics, offsets, members, owners },
        sessionTimeoutMs,
      );
      const interval = options.retentionCheckIntervalMs ?? 60_000;
      if (interval > 0) {
        log.retentionTimer = setInterval(() => {
          if (!log.retention.running) log.enforceRetention().catch(() => undefined);
        }, interval);
        log.retentionTimer.unref();
      }
      return log;
    } catch (err) {
      await nc.close().catch(() => undefined);
      if (err instanceof TracklaneError || !isTransient(err)) throw err;
      throw new TracklaneError(
        'E_NOT_READY',
        `NATS at ${String(options.servers)} does not answer JetStream requests: ${(err as Error).message}; check that JetStream is enabled and the cluster has a leader, then retry`,
        { cause: err },
      );
    }
  }

  private assertOpen(): void {
    if (this.closing) throw closedError();
  }

  private async topic(name: string): Promise<TopicState> {
    const cached = this.topics.get(name);
    if (cached) return cached;
    validateName('topic', name);
    let pending = this.loading.get(name);
    if (!pending) {
      pending = this.loadTopic(name).finally(() => this.loading.delete(name));
      this.loading.set(name, pending);
    }
    return pending;
  }

  private async loadTopic(name: string): Promise<TopicState> {
    const entry = await this.buckets.topics.get(token(name));
    if (entry?.operation !== 'PUT') {
      throw new TracklaneError(
        'E_TOPIC_NOT_FOUND',
        `topic ${name} does not exist; create it with ensureTopic`,
      );
    }
    const description = entry.json<TopicDescription>();
    // Also heals a topic whose creator died between writing its config and creating its streams.
    await this.ensureStreams(description);
    return this.remember(description);
  }

  private remember(description: TopicDescription): TopicState {
    const existing = this.topics.get(description.name);
    if (existing) return existing;
    const state: TopicState = { description, subjects: [], streams: [], roundRobin: 0 };
    for (let p = 0; p < description.config.partitions; p++) {
      state.subjects.push(this.names.subject(description.name, p));
      state.streams.push(this.names.stream(description.name, p));
    }
    this.topics.set(description.name, state);
    return state;
  }

  private async ensureStreams(description: TopicDescription): Promise<void> {
    await Promise.all(
      Array.from({ length: description.config.partitions }, async (_, p) => {
        const config = partitionStreamConfig(
          this.names.stream(description.name, p),
          this.names.subject(description.name, p),
          description,
          this.replicas,
        );
        try {
          await retryTransient(() => this.jsm.streams.add(config));
        } catch (err) {
          // Already there with other settings (e.g. created with other replicas): keep it as it is.
          const exists = await this.jsm.streams.info(config.name).then(
            () => true,
            () => false,
          );
          if (!exists) throw err;
        }
      }),
    );
  }

  private partitionStream(topic: string, partition: number): string {
    const t = this.topics.get(topic);
    if (!t) throw new TracklaneError('E_TOPIC_NOT_FOUND', `topic ${topic} does not exist`);
    return this.streamOf(t, partition);
  }

  private streamOf(t: TopicState, partition: number): string {
    const stream = Number.isInteger(partition) ? t.streams[partition] : undefined;
    if (stream === undefined) {
      throw new TracklaneError(
        'E_BAD_ARGUMENT',
        `topic ${t.description.name} has partitions 0..${t.streams.length - 1}; got ${partition}`,
      );
    }
    return stream;
  }

  async ensureTopic(name: string, config: TopicConfig): Promise<TopicDescription> {
    this.assertOpen();
    validateName('topic', name);
    const existing = await this.topic(name).catch((err: unknown) => {
      if ((err as TracklaneError).code === 'E_TOPIC_NOT_FOUND') return null;
      throw err;
    });
    if (existing) return structuredClone(existing.description);
    if (!Number.isSafeInteger(config?.partitions) || config.partitions < 1 || config.partitions > 10_000) {
      throw new TracklaneError('E_BAD_ARGUMENT', 'partitions must be an integer in 1..10000');
    }
    positiveInt(config.retentionMs, 'retentionMs');
    positiveInt(config.retentionBytes, 'retentionBytes');
    positiveInt(config.segmentBytes, 'segmentBytes');
    const stored: TopicDescription = { name, config: { partitions: config.partitions } };
    if (config.retentionMs !== undefined) stored.config.retentionMs = config.retentionMs;
    if (config.retentionBytes !== undefined) stored.config.retentionBytes = config.retentionBytes;
    if (config.segmentBytes !== undefined) stored.config.segmentBytes = config.segmentBytes;
    // create() is a compare-and-set: of racing creators (in any process) exactly one config wins.
    await retryTransient(() =>
      this.buckets.topics.create(token(name), JSON.stringify(stored)).catch(async (err: unknown) => {
        // Lost the race (the key exists): the winner's config is read below. Anything else is an error.
        if ((await this.buckets.topics.get(token(name)))?.operation !== 'PUT') throw err;
        return 0;
      }),
    );
    return structuredClone((await this.topic(name)).description);
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    this.assertOpen();
    return structuredClone((await this.topic(name)).description);
  }

  async listTopics(): Promise<string[]> {
    this.assertOpen();
    const names: string[] = [];
    for await (const key of await this.buckets.topics.keys()) names.push(untoken(key));
    return names.sort();
  }

  async append(
    topic: string,
    records: RecordInput[],
    options?: { partition?: number },
  ): Promise<AppendAck[]> {
    this.assertOpen();
    const t = await this.topic(topic);
    this.assertOpen();
    const n = records.length;
    if (n === 0) return [];
    const count = t.subjects.length;
    let target = -1;
    if (options?.partition !== undefined) {
      this.streamOf(t, options.partition);
      target = options.partition;
    } else if (count === 1) {
      target = 0;
    }
    const maxPayload = this.nc.info?.max_payload ?? 1 << 20;
    const now = Date.now();
    const partitions = new Int32Array(n);
    const pending = new Array<Promise<number>>(n);
    // Every publish of the call is written to the connection before the first await, in input order, so a
    // call's records for one partition are stored in order and contiguously; acks are awaited together.
    for (let i = 0; i < n; i++) {
      const record = records[i]!;
      const messageId = record.headers?.[MESSAGE_ID_HEADER];
      let p = target;
      if (p < 0) {
        const key = record.key;
        // A keyless record with a message id is placed by that id, so a retry lands in the same stream,
        // whose dedup window then drops it.
        if (key !== null && key !== undefined) p = partitionForKey(key, count);
        else if (messageId) p = partitionForKey(messageId, count);
        else p = t.roundRobin++ % count;
      }
      partitions[i] = p;
      const payload = encodeRecord(record, now);
      if (payload.length > maxPayload) {
        const err = new TracklaneError(
          'E_RECORD_TOO_LARGE',
          `record ${i} encodes to ${payload.length} bytes; the NATS server accepts at most ${maxPayload}`,
        );
        // Earlier publishes of this call may already be on their way; they stay (at-least-once).
        await Promise.allSettled(pending.slice(0, i));
        throw err;
      }
      pending[i] = this.publisher.publish(t.subjects[p]!, payload, messageId);
    }
    const seqs = await Promise.all(pending);
    const out: AppendAck[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = { partition: partitions[i]!, offset: seqs[i]! - 1 };
    return out;
  }

  private async range(stream: string): Promise<{ start: number; end: number }> {
    const { state } = await retryTransient(() => this.jsm.streams.info(stream));
    const end = state.last_seq;
    return { start: state.messages === 0 ? end : state.first_seq - 1, end };
  }

  async read(topic: string, partition: number, offset: number, options?: ReadOptions): Promise<LogRecord[]> {
    this.assertOpen();
    const t = await this.topic(topic);
    const stream = this.streamOf(t, partition);
    if (!Number.isSafeInteger(offset)) {
      throw new TracklaneError('E_BAD_ARGUMENT', `offset must be an integer, got ${offset}`);
    }
    const maxRecords = options?.maxRecords ?? DEFAULT_READ_MAX_RECORDS;
    const maxBytes = options?.maxBytes ?? DEFAULT_READ_MAX_BYTES;
    positiveInt(maxRecords, 'maxRecords');
    positiveInt(maxBytes, 'maxBytes');
    const { start, end } = await this.range(stream);
    const from = Math.max(offset, start);
    if (from >= end) return [];
    const count = Math.min(maxRecords, end - from);
    let records: LogRecord[];
    if (count <= DIRECT_READ_MAX) {
      records = await this.readBySequence(topic, partition, stream, from, count);
    } else {
      try {
        records = await this.readByConsumer(topic, partition, stream, from, count);
      } catch (err) {
        // Creating a consumer needs the cluster's meta leader, which may be in an election after a node loss;
        // gets by sequence need only the stream's leader. Fewer records than asked is within the contract.
        if (!isTransient(err)) throw err;
        records = await this.readBySequence(
          topic,
          partition,
          stream,
          from,
          Math.min(count, FALLBACK_READ_MAX),
        );
      }
    }
    let bytes = 0;
    for (let i = 0; i < records.length; i++) {
      bytes += records[i]!.value.length;
      if (bytes > maxBytes && i > 0) return records.slice(0, i);
    }
    return records;
  }

  private async readBySequence(
    topic: string,
    partition: number,
    stream: string,
    from: number,
    count: number,
  ): Promise<LogRecord[]> {
    const messages = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        retryTransient(() => this.jsm.streams.getMessage(stream, { seq: from + i + 1 })).catch(
          (err: unknown) => {
            // Retention may delete the head of the range between the range query and this get.
            if (isNotFound(err)) return null;
            throw err;
          },
        ),
      ),
    );
    const out: LogRecord[] = [];
    for (const m of messages) if (m) out.push(decodeRecord(topic, partition, m.seq - 1, m.data));
    return out;
  }

  private async readByConsumer(
    topic: string,
    partition: number,
    stream: string,
    from: number,
    count: number,
  ): Promise<LogRecord[]> {
    const consumer = await this.js.consumers.get(stream, { opt_start_seq: from + 1 });
    const out: LogRecord[] = [];
    const last = from + count;
    try {
      const messages = await consumer.fetch({ max_messages: count, expires: READ_EXPIRES_MS });
      for await (const m of messages) {
        out.push(decodeRecord(topic, partition, m.seq - 1, m.data));
        if (m.seq >= last) break;
      }
    } finally {
      void consumer.delete().catch(() => undefined);
    }
    return out;
  }

  async offsets(topic: string): Promise<PartitionOffsets[]> {
    this.assertOpen();
    const t = await this.topic(topic);
    const ranges = await Promise.all(t.streams.map((s) => this.range(s)));
    return ranges.map((r, partition) => ({ partition, start: r.start, end: r.end }));
  }

  /**
   * Binary search over record timestamps (log2(n) gets). Exact when timestamps do not decrease along the
   * partition, which holds for append-time timestamps; with out-of-order event times it returns an offset
   * whose record is at or after `timestamp` and whose predecessor is before it, which may not be the first.
   */
  async offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    this.assertOpen();
    const t = await this.topic(topic);
    const stream = this.streamOf(t, partition);
    return this.searchTimestamp(topic, partition, stream, timestamp);
  }

  private async searchTimestamp(
    topic: string,
    partition: number,
    stream: string,
    timestamp: number,
  ): Promise<number> {
    const { start, end } = await this.range(stream);
    let lo = start;
    let hi = end;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const [record] = await this.readBySequence(topic, partition, stream, mid, 1);
      if (record === undefined || record.timestamp < timestamp) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    this.assertOpen();
    validateName('group', options.group);
    if (!Array.isArray(options.topics) || options.topics.length === 0) {
      throw new TracklaneError('E_BAD_ARGUMENT', 'a consumer needs at least one topic');
    }
    const topics: Record<string, number> = {};
    for (const name of options.topics) topics[name] = (await this.topic(name)).streams.length;
    const consumer = await NatsConsumer.join(this.host, { group: options.group, topics, from: options.from });
    this.consumers.add(consumer);
    return consumer;
  }

  async committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    this.assertOpen();
    validateName('group', group);
    validateName('topic', topic);
    const result = new Map<number, number>();
    const t = await this.topic(topic).catch(() => null);
    if (!t) return result;
    const entries = await Promise.all(
      t.streams.map((_, p) => this.buckets.offsets.get(this.names.partitionKey(group, topic, p))),
    );
    for (let p = 0; p < entries.length; p++) {
      const e = entries[p];
      if (e && e.operation === 'PUT') result.set(p, Number(e.string()));
    }
    return result;
  }

  private async commitOffsets(group: string, offsets: TopicPartitionOffset[]): Promise<void> {
    for (const o of offsets) this.streamOf(await this.topic(o.topic), o.partition);
    await Promise.all(
      offsets.map((o) =>
        this.buckets.offsets.put(this.names.partitionKey(group, o.topic, o.partition), String(o.offset)),
      ),
    );
  }

  /**
   * Size limits are enforced by the server on every append (max_bytes). Age is enforced here by record
   * timestamp, purging each partition up to the first record young enough; the streams' max_age, which
   * counts from the server's receive time, only backs this up.
   */
  async enforceRetention(): Promise<void> {
    this.assertOpen();
    await this.retention.run();
  }

  private async applyRetention(): Promise<void> {
    const now = Date.now();
    for (const name of await this.listTopics()) {
      const t = await this.topic(name);
      const retentionMs = t.description.config.retentionMs;
      if (retentionMs === undefined) continue;
      for (let p = 0; p < t.streams.length; p++) {
        const stream = t.streams[p]!;
        const { start } = await this.range(stream);
        const keepFrom = await this.searchTimestamp(name, p, stream, now - retentionMs);
        if (keepFrom > start) await this.jsm.streams.purge(stream, { seq: keepFrom + 1 });
      }
    }
  }

  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        if (this.retentionTimer) clearInterval(this.retentionTimer);
        await this.retention.running?.catch(() => undefined);
        await Promise.all([...this.consumers].map((c) => c.close().catch(() => undefined)));
        await this.publisher.settled();
        this.publisher.close();
        await this.nc.drain().catch(() => this.nc.close());
      })();
    }
    return this.closing;
  }
}
