import { randomBytes } from 'node:crypto';
import { Admin, Consumer as KafkaConsumer, type MessageToProduce, Producer } from '@platformatic/kafka';
import { TracklaneError } from '@tracklane/core';
import type {
  AppendAck,
  Consumer,
  ConsumerOptions,
  Log,
  LogRecord,
  PartitionOffsets,
  ReadOptions,
  RecordInput,
  TopicConfig,
  TopicDescription,
} from '@tracklane/log';
import { SingleFlight } from '@tracklane/log';
import { fetchPartitions } from './fetcher.ts';
import {
  type AdvertisedApi,
  assertGroupProtocol,
  chooseGroupProtocol,
  type GroupProtocol,
} from './group-protocol.ts';
import { type Client, type ConsumerHost, KafkaGroupConsumer } from './kafka-consumer.ts';
import { hasKafkaError } from './kafka-errors.ts';
import { Names, validateName } from './names.ts';
import { Placement } from './placement.ts';
import { SendQueue } from './send-queue.ts';
import { StickySubscription, stickyPartitionAssigner } from './sticky-protocol.ts';
import { kafkaTopicConfigs, TOPIC_CONFIG_KEYS, topicDescription } from './topic-config.ts';

export interface KafkaLogOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string | string[];
  /** Kafka topics and groups are named `<namespace>.<name>`; lets installations share a cluster. */
  namespace?: string;
  clientId?: string;
  /** Replication factor of topics this log creates; -1 takes the broker's default. Default -1. */
  replicationFactor?: number;
  /** Classic protocol: a member silent this long is removed from its group. Default 10 000. */
  sessionTimeoutMs?: number;
  /**
   * Consumer-group protocol: 'consumer' (KIP-848, Kafka >= 4.0: incremental, the broker moves partitions one
   * by one), 'classic' (JoinGroup/SyncGroup with a sticky assignor), or 'auto': 'consumer' when the broker's
   * ApiVersions offer ConsumerGroupHeartbeat, else 'classic'. Default 'auto'.
   */
  groupProtocol?: GroupProtocol;
  /** Interval of the background retention pass (see enforceRetention); 0 disables it. Default 60 000. */
  retentionCheckIntervalMs?: number;
}

interface TopicState {
  description: TopicDescription;
  placement: Placement;
}

const DEFAULT_READ_MAX_RECORDS = 1000;
const DEFAULT_READ_MAX_BYTES = 1 << 20;
const TOPIC_RESOURCE = 2;
const EARLIEST = -2n;
const LATEST = -1n;

function closedError(): TracklaneError {
  return new TracklaneError('E_LOG_CLOSED', 'the log is closed; open it again to continue');
}

function positiveInt(value: unknown, what: string): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < 1)) {
    throw new TracklaneError('E_BAD_ARGUMENT', `${what} must be a positive integer, got ${String(value)}`);
  }
}

function notFound(name: string): TracklaneError {
  return new TracklaneError('E_TOPIC_NOT_FOUND', `topic ${name} does not exist; create it with ensureTopic`);
}

/**
 * The Log on Kafka: topics, partitions, offsets and groups are Kafka's own, so nothing is emulated except
 * Tracklane's placement (the same murmur2 partition numbers as the embedded log, chosen client-side) and
 * age retention by record timestamp on demand (DeleteRecords; the broker applies retention.ms itself, but
 * only to closed segments and on its own schedule).
 *
 * Appends use one idempotent producer with acks=all through a group-commit queue (send-queue.ts).
 */
export class KafkaLog implements Log {
  private readonly topics = new Map<string, TopicState>();
  private readonly consumers = new Set<KafkaGroupConsumer>();
  private readonly sendQueue: SendQueue;
  private readonly host: ConsumerHost;
  private retentionTimer: NodeJS.Timeout | null = null;
  private readonly retention = new SingleFlight(() => this.applyRetention());
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly options: Required<Omit<KafkaLogOptions, 'brokers' | 'namespace' | 'groupProtocol'>> & {
      brokers: string[];
      /** What `groupProtocol` resolved to against this cluster at open. */
      groupProtocol: 'consumer' | 'classic';
    },
    private readonly names: Names,
    private readonly admin: Admin,
    private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>,
    /** Never joins a group: metadata, ListOffsets and Fetch for `read`. */
    private readonly reader: Client,
  ) {
    this.sendQueue = new SendQueue(async (messages) => {
      const result = await this.producer.send({ messages, acks: -1 });
      return result.offsets ?? [];
    });
    this.host = {
      names,
      range: (topic, partition) => this.range(topic, partition),
      assertOpen: () => this.assertOpen(),
      forget: (consumer) => this.consumers.delete(consumer),
    };
  }

  static async open(options: KafkaLogOptions): Promise<KafkaLog> {
    const brokers = Array.isArray(options.brokers) ? options.brokers : options.brokers.split(',');
    if (brokers.length === 0 || brokers.some((b) => !/^[^:\s]+:\d+$/.test(b.trim()))) {
      throw new TracklaneError('E_CONFIG', `Kafka brokers must be host:port, got ${String(options.brokers)}`);
    }
    const requestedProtocol = options.groupProtocol ?? 'auto';
    assertGroupProtocol(requestedProtocol);
    const resolved = {
      brokers: brokers.map((b) => b.trim()),
      clientId: options.clientId ?? 'tracklane',
      replicationFactor: options.replicationFactor ?? -1,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      retentionCheckIntervalMs: options.retentionCheckIntervalMs ?? 60_000,
      // Settled against the broker's ApiVersions once connected, below.
      groupProtocol: 'classic' as 'consumer' | 'classic',
    };
    const names = new Names(options.namespace);
    const base = { clientId: resolved.clientId, bootstrapBrokers: resolved.brokers };
    const admin = new Admin(base);
    const producer = new Producer<Buffer, Buffer, Buffer, Buffer>({ ...base, idempotent: true, acks: -1 });
    const reader: Client = new KafkaConsumer({
      ...base,
      groupId: `tracklane-reader-${randomBytes(6).toString('hex')}`,
    });
    const log = new KafkaLog(resolved, names, admin, producer, reader);
    let apis: AdvertisedApi[];
    try {
      // Fail fast on an unreachable cluster rather than on the first append.
      await admin.metadata({ topics: [] });
      apis = await admin.listApis();
    } catch (err) {
      await log.closeClients();
      throw new TracklaneError(
        'E_NOT_READY',
        `cannot reach Kafka at ${resolved.brokers.join(',')}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    try {
      // `resolved` is the log's own options object: the protocol is settled before any consumer exists.
      resolved.groupProtocol = chooseGroupProtocol(requestedProtocol, apis, resolved.brokers.join(','));
    } catch (err) {
      await log.closeClients();
      throw err;
    }
    if (resolved.retentionCheckIntervalMs > 0) {
      log.retentionTimer = setInterval(() => {
        if (!log.retention.running) log.enforceRetention().catch(() => undefined);
      }, resolved.retentionCheckIntervalMs);
      log.retentionTimer.unref();
    }
    return log;
  }

  private assertOpen(): void {
    if (this.closing) throw closedError();
  }

  private async topic(name: string): Promise<TopicState> {
    const cached = this.topics.get(name);
    if (cached) return cached;
    validateName('topic', name);
    const kafkaName = this.names.topic(name);
    let partitions: number;
    try {
      const metadata = await this.admin.metadata({ topics: [kafkaName], forceUpdate: true });
      partitions = metadata.topics.get(kafkaName)?.partitionsCount ?? 0;
    } catch (err) {
      if (hasKafkaError(err, 'UNKNOWN_TOPIC_OR_PARTITION')) throw notFound(name);
      throw err;
    }
    if (partitions === 0) throw notFound(name);
    const [described] = await this.admin.describeConfigs({
      resources: [
        { resourceType: TOPIC_RESOURCE, resourceName: kafkaName, configurationKeys: [...TOPIC_CONFIG_KEYS] },
      ],
    });
    const description = topicDescription(name, partitions, described?.configs ?? []);
    const state = { description, placement: new Placement(partitions) };
    this.topics.set(name, state);
    return state;
  }

  private partitionCount(t: TopicState, partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= t.description.config.partitions) {
      throw new TracklaneError(
        'E_BAD_ARGUMENT',
        `topic ${t.description.name} has partitions 0..${t.description.config.partitions - 1}; got ${partition}`,
      );
    }
  }

  async ensureTopic(name: string, config: TopicConfig): Promise<TopicDescription> {
    this.assertOpen();
    validateName('topic', name);
    const existing = this.topics.get(name);
    if (existing) return structuredClone(existing.description);
    if (!Number.isSafeInteger(config?.partitions) || config.partitions < 1 || config.partitions > 10_000) {
      throw new TracklaneError('E_BAD_ARGUMENT', 'partitions must be an integer in 1..10000');
    }
    positiveInt(config.retentionMs, 'retentionMs');
    positiveInt(config.retentionBytes, 'retentionBytes');
    positiveInt(config.segmentBytes, 'segmentBytes');
    try {
      await this.admin.createTopics({
        topics: [this.names.topic(name)],
        partitions: config.partitions,
        replicas: this.options.replicationFactor,
        configs: kafkaTopicConfigs(config),
      });
    } catch (err) {
      // Already there (made by another process, or earlier): it keeps its partition count, like any Log.
      if (!hasKafkaError(err, 'TOPIC_ALREADY_EXISTS')) throw err;
    }
    return structuredClone((await this.topic(name)).description);
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    this.assertOpen();
    return structuredClone((await this.topic(name)).description);
  }

  async listTopics(): Promise<string[]> {
    this.assertOpen();
    const names: string[] = [];
    for (const kafkaName of await this.admin.listTopics()) {
      const name = this.names.fromKafkaTopic(kafkaName);
      if (name !== undefined) names.push(name);
    }
    return names.sort();
  }

  async append(
    topic: string,
    records: RecordInput[],
    options?: { partition?: number },
  ): Promise<AppendAck[]> {
    this.assertOpen();
    const t = await this.topic(topic);
    const n = records.length;
    if (n === 0) return [];
    const explicit = options?.partition;
    if (explicit !== undefined) this.partitionCount(t, explicit);
    const kafkaName = this.names.topic(topic);
    const now = BigInt(Date.now());
    const messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const r = records[i]!;
      const key = r.key === null || r.key === undefined ? undefined : toBuffer(r.key);
      let headers: Map<Buffer, Buffer> | undefined;
      if (r.headers) {
        for (const name in r.headers) {
          headers ??= new Map();
          headers.set(Buffer.from(name, 'utf8'), Buffer.from(r.headers[name]!, 'utf8'));
        }
      }
      messages[i] = {
        topic: kafkaName,
        partition: t.placement.partitionOf(r, explicit),
        key,
        value: toBuffer(r.value),
        headers,
        timestamp: r.timestamp === undefined ? now : BigInt(r.timestamp),
      };
    }
    let offsets: number[];
    try {
      offsets = await this.sendQueue.enqueue(messages);
    } catch (err) {
      if (hasKafkaError(err, 'MESSAGE_TOO_LARGE') || hasKafkaError(err, 'RECORD_LIST_TOO_LARGE')) {
        throw new TracklaneError(
          'E_RECORD_TOO_LARGE',
          `a record of this append exceeds the broker's max.message.bytes`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
    const acks: AppendAck[] = new Array(n);
    for (let i = 0; i < n; i++) acks[i] = { partition: messages[i]!.partition!, offset: offsets[i]! };
    return acks;
  }

  private async listOffsets(topic: string, partitions: number[], timestamp: bigint): Promise<bigint[]> {
    const kafkaName = this.names.topic(topic);
    const answer = await this.reader.listOffsets({
      topics: [kafkaName],
      partitions: { [kafkaName]: partitions },
      timestamp,
    });
    return answer.get(kafkaName) ?? [];
  }

  private async range(topic: string, partition: number): Promise<{ start: number; end: number }> {
    const [starts, ends] = await Promise.all([
      this.listOffsets(topic, [partition], EARLIEST),
      this.listOffsets(topic, [partition], LATEST),
    ]);
    return { start: Number(starts[partition] ?? 0n), end: Number(ends[partition] ?? 0n) };
  }

  async read(topic: string, partition: number, offset: number, options?: ReadOptions): Promise<LogRecord[]> {
    this.assertOpen();
    const t = await this.topic(topic);
    this.partitionCount(t, partition);
    if (!Number.isSafeInteger(offset)) {
      throw new TracklaneError('E_BAD_ARGUMENT', `offset must be an integer, got ${offset}`);
    }
    const maxRecords = options?.maxRecords ?? DEFAULT_READ_MAX_RECORDS;
    const maxBytes = options?.maxBytes ?? DEFAULT_READ_MAX_BYTES;
    positiveInt(maxRecords, 'maxRecords');
    positiveInt(maxBytes, 'maxBytes');
    const { start, end } = await this.range(topic, partition);
    const from = Math.max(offset, start);
    if (from >= end) return [];
    const [fetched] = await fetchPartitions(
      this.reader,
      [{ topic: this.names.topic(topic), label: topic, partition, offset: from }],
      {
        maxWaitMs: 0,
        maxBytes: Math.max(maxBytes, 64 * 1024),
        maxRecordsPerPartition: maxRecords,
      },
    );
    const records = fetched?.records ?? [];
    let bytes = 0;
    for (let i = 0; i < records.length; i++) {
      bytes += records[i]!.value.length;
      if (bytes > maxBytes && i > 0) return records.slice(0, i);
    }
    return records;
  }

  async offsets(topic: string): Promise<PartitionOffsets[]> {
    this.assertOpen();
    const t = await this.topic(topic);
    const all = Array.from({ length: t.description.config.partitions }, (_, p) => p);
    const [starts, ends] = await Promise.all([
      this.listOffsets(topic, all, EARLIEST),
      this.listOffsets(topic, all, LATEST),
    ]);
    return all.map((partition) => ({
      partition,
      start: Number(starts[partition] ?? 0n),
      end: Number(ends[partition] ?? 0n),
    }));
  }

  /** Kafka's ListOffsets by timestamp: the earliest offset whose record timestamp is >= `timestamp`. */
  async offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    this.assertOpen();
    const t = await this.topic(topic);
    this.partitionCount(t, partition);
    const [found] = [(await this.listOffsets(topic, [partition], BigInt(Math.max(0, timestamp))))[partition]];
    if (found === undefined || found < 0n) return (await this.range(topic, partition)).end;
    return Number(found);
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    this.assertOpen();
    validateName('group', options.group);
    if (!Array.isArray(options.topics) || options.topics.length === 0) {
      throw new TracklaneError('E_BAD_ARGUMENT', 'a consumer needs at least one topic');
    }
    for (const topic of options.topics) await this.topic(topic);
    const base = {
      clientId: this.options.clientId,
      bootstrapBrokers: this.options.brokers,
      groupId: this.names.group(options.group),
    };
    const protocol = this.options.groupProtocol;
    const subscription = protocol === 'classic' ? new StickySubscription() : undefined;
    const client: Client = subscription
      ? new KafkaConsumer({
          ...base,
          sessionTimeout: this.options.sessionTimeoutMs,
          heartbeatInterval: Math.max(100, Math.floor(this.options.sessionTimeoutMs / 3)),
          protocols: subscription.protocols,
          partitionAssigner: stickyPartitionAssigner,
        })
      : // KIP-848: session timeout and heartbeat interval are the broker's (group.consumer.*), the assignor
        // its default (uniform, itself sticky).
        new KafkaConsumer({ ...base, groupProtocol: 'consumer' });
    try {
      const consumer = await KafkaGroupConsumer.join(client, this.host, {
        group: options.group,
        topics: [...new Set(options.topics)],
        from: options.from,
        protocol,
        ...(subscription ? { subscription } : {}),
      });
      this.consumers.add(consumer);
      return consumer;
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
  }

  async committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    this.assertOpen();
    validateName('group', group);
    validateName('topic', topic);
    const result = new Map<number, number>();
    const t = await this.topic(topic).catch(() => null);
    if (!t) return result;
    const partitionIndexes = Array.from({ length: t.description.config.partitions }, (_, p) => p);
    const [answer] = await this.admin.listConsumerGroupOffsets({
      groups: [
        { groupId: this.names.group(group), topics: [{ name: this.names.topic(topic), partitionIndexes }] },
      ],
    });
    for (const tp of answer?.topics ?? []) {
      if (tp.name !== this.names.topic(topic)) continue;
      for (const p of tp.partitions)
        if (p.committedOffset >= 0n) result.set(p.partitionIndex, Number(p.committedOffset));
    }
    return result;
  }

  /**
   * Size retention is the broker's (retention.bytes, per partition, whole segments). Age retention is the
   * broker's too, but it only deletes closed segments on its own schedule (log.retention.check.interval.ms),
   * so here records older than retentionMs (by record timestamp) are cut at once with DeleteRecords.
   */
  async enforceRetention(): Promise<void> {
    this.assertOpen();
    await this.retention.run();
  }

  private async applyRetention(): Promise<void> {
    const now = Date.now();
    for (const name of await this.listTopics()) {
      const t = await this.topic(name).catch(() => null);
      const retentionMs = t?.description.config.retentionMs;
      if (!t || retentionMs === undefined) continue;
      const partitions: { partition: number; offset: bigint }[] = [];
      for (let p = 0; p < t.description.config.partitions; p++) {
        const cut = await this.offsetForTimestamp(name, p, now - retentionMs);
        const { start } = await this.range(name, p);
        if (cut > start) partitions.push({ partition: p, offset: BigInt(cut) });
      }
      if (partitions.length > 0)
        await this.admin.deleteRecords({ topics: [{ name: this.names.topic(name), partitions }] });
    }
  }

  private async closeClients(): Promise<void> {
    await Promise.allSettled([this.producer.close(), this.admin.close(), this.reader.close()]);
  }

  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        if (this.retentionTimer) clearInterval(this.retentionTimer);
        await this.retention.running?.catch(() => undefined);
        await Promise.all([...this.consumers].map((c) => c.close().catch(() => undefined)));
        await this.closeClients();
      })();
    }
    return this.closing;
  }
}

function toBuffer(data: string | Uint8Array): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
