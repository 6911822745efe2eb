import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  TopicPartitionOffset,
} from '../log.ts';
import { validateName } from '../names.ts';
import { partitionForKey } from '../partitioner.ts';
import { BufferPool } from './buffer-pool.ts';
import { CommitLog } from './commit-log.ts';
import { replayCommitLog } from './commit-log-replay.ts';
import { type ConsumerHost, EmbeddedConsumer } from './consumer.ts';
import { FlushCoordinator } from './flush-coordinator.ts';
import { fsyncDir, writeFileAtomic } from './fs-util.ts';
import { GroupCoordinator } from './group-coordinator.ts';
import { DirLock } from './lock.ts';
import { OffsetStore } from './offset-store.ts';
import { Partition, type PartitionSettings } from './partition.ts';
import { type EncodedBatch, encodeBatch, type ReadBudget } from './record-batch.ts';
import { applyRetention, RetentionScheduler } from './retention.ts';

export interface EmbeddedLogOptions {
  /** Segment size for topics whose config sets no `segmentBytes`. Default 128 MiB. */
  segmentBytes?: number;
  /** Largest encoded record `append` accepts (E_RECORD_TOO_LARGE above). Default 8 MiB. */
  maxRecordBytes?: number;
  /** Interval of the background retention pass; 0 disables the timer. Default 60 000. */
  retentionCheckIntervalMs?: number;
  /** Bytes between entries of the in-memory sparse index. Default 4096. */
  indexIntervalBytes?: number;
  /** A commit-log file this large triggers a checkpoint (segments fdatasynced, file deleted). Default 64 MiB. */
  commitLogBytes?: number;
  /** Checkpoint interval while segments hold commit-log-only bytes; 0 disables the timer. Default 5000. */
  checkpointIntervalMs?: number;
}

type TopicFileConfig = TopicDescription['config'];

interface TopicState {
  name: string;
  config: TopicFileConfig;
  partitions: Partition[];
  /** Next partition for a keyless record. */
  roundRobin: number;
}

const DEFAULT_READ_MAX_RECORDS = 1000;
const DEFAULT_READ_MAX_BYTES = 1 << 20;

function closedError(): TracklaneError {
  return new TracklaneError('E_LOG_CLOSED', 'the log is closed; open it again to continue');
}

function positiveInt(value: unknown, what: string): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < 1)) {
    throw new TracklaneError('E_BAD_ARGUMENT', `${what} must be a positive integer, got ${String(value)}`);
  }
}

/**
 * The embedded durable log: Kafka's model (topics, partitions, offsets, groups) in one directory.
 *
 *   <dir>/LOCK                                     owner pid (lock.ts)
 *   <dir>/topics/<topic>/topic.json                topic config, written atomically
 *   <dir>/topics/<topic>/<partition>/<base>.seg    record batches (segment.ts, record-batch.ts)
 *   <dir>/groups/<group>.json                      committed offsets (offset-store.ts)
 *   <dir>/commit-log/<seq>.wal                     multi-partition flush cycles' entries (commit-log.ts)
 *
 * Appends resolve only after fdatasync of the bytes that carry them, in their segment or in the commit log
 * (group commit across all partitions in flush-coordinator.ts; replayed on open by commit-log-replay.ts), and
 * readers and consumers only see durable records, so nothing a consumer processed can disappear in a crash.
 */
export class EmbeddedLog implements Log {
  private readonly dir: string;
  private readonly topics = new Map<string, TopicState>();
  private readonly creating = new Map<string, Promise<TopicDescription>>();
  private readonly lock: DirLock;
  private readonly offsetStore: OffsetStore;
  private readonly coordinator: GroupCoordinator;
  private readonly retention: RetentionScheduler;
  private readonly consumers = new Set<EmbeddedConsumer>();
  private readonly segmentBytes: number;
  private readonly maxRecordBytes: number;
  private readonly indexIntervalBytes: number;
  private readonly pool = new BufferPool(16 * 1024 * 1024);
  private readonly flusher: FlushCoordinator;
  private closing: Promise<void> | null = null;
  private seq = 0;
  private waiters = new Set<() => void>();
  private readonly onDurable = () => this.wake();
  private readonly onRoll = () => this.retention.trigger();
  /** The narrow view consumers get of the log (kept off the public surface). */
  private readonly host: ConsumerHost;

  private constructor(dir: string, lock: DirLock, offsetStore: OffsetStore, options: EmbeddedLogOptions) {
    this.dir = dir;
    this.lock = lock;
    this.offsetStore = offsetStore;
    this.segmentBytes = options.segmentBytes ?? 128 * 1024 * 1024;
    this.maxRecordBytes = options.maxRecordBytes ?? 8 * 1024 * 1024;
    this.indexIntervalBytes = options.indexIntervalBytes ?? 4096;
    this.flusher = new FlushCoordinator(new CommitLog(join(dir, 'commit-log')), {
      commitLogBytes: options.commitLogBytes ?? 64 * 1024 * 1024,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 5000,
    });
    this.coordinator = new GroupCoordinator((topic) => this.topicState(topic).partitions.length);
    this.retention = new RetentionScheduler(
      () => applyRetention(this.topics.values(), Date.now()),
      options.retentionCheckIntervalMs ?? 60_000,
    );
    const log = this;
    this.host = {
      range: (topic, partition) => this.range(topic, partition),
      readInto: (topic, partition, offset, budget) => this.readInto(topic, partition, offset, budget),
      committed: (group, topic, partition) => this.offsetStore.committed(group, topic, partition),
      commit: (group, offsets) => this.commitOffsets(group, offsets),
      get changeSeq() {
        return log.seq;
      },
      waitForChange: (seq, timeoutMs) => this.waitForChange(seq, timeoutMs),
      wake: () => this.wake(),
      assertOpen: () => this.assertOpen(),
    };
  }

  /** Opens (creating if needed) the log in `dir`, taking its lock and recovering every partition. */
  static async open(dir: string, options: EmbeddedLogOptions = {}): Promise<EmbeddedLog> {
    positiveInt(options.segmentBytes, 'segmentBytes');
    positiveInt(options.maxRecordBytes, 'maxRecordBytes');
    positiveInt(options.indexIntervalBytes, 'indexIntervalBytes');
    positiveInt(options.commitLogBytes, 'commitLogBytes');
    if (
      options.checkpointIntervalMs !== undefined &&
      (!Number.isSafeInteger(options.checkpointIntervalMs) || options.checkpointIntervalMs < 0)
    ) {
      throw new TracklaneError(
        'E_BAD_ARGUMENT',
        `checkpointIntervalMs must be a non-negative integer, got ${String(options.checkpointIntervalMs)}`,
      );
    }
    await mkdir(join(dir, 'topics'), { recursive: true });
    const lock = await DirLock.acquire(dir);
    let log: EmbeddedLog | null = null;
    try {
      const offsetStore = await OffsetStore.open(join(dir, 'groups'));
      log = new EmbeddedLog(dir, lock, offsetStore, options);
      await log.loadTopics();
      await replayCommitLog(
        join(dir, 'commit-log'),
        (topic, partition) => log?.topics.get(topic)?.partitions[partition],
      );
      return log;
    } catch (err) {
      await log?.flusher.close().catch(() => undefined);
      if (log) await log.closePartitions().catch(() => undefined);
      await log?.retention.stop();
      await lock.release();
      throw err;
    }
  }

  private settingsFor(config: TopicConfig): PartitionSettings {
    return {
      segmentBytes: config.segmentBytes ?? this.segmentBytes,
      indexIntervalBytes: this.indexIntervalBytes,
      onDurable: this.onDurable,
      onRoll: this.onRoll,
      pool: this.pool,
      flusher: this.flusher,
    };
  }

  private async loadTopics(): Promise<void> {
    const topicsDir = join(this.dir, 'topics');
    for (const name of await readdir(topicsDir)) {
      let config: TopicFileConfig;
      try {
        config = (JSON.parse(await readFile(join(topicsDir, name, 'topic.json'), 'utf8')) as TopicDescription)
          .config;
      } catch (err) {
        // No topic.json: a crash interrupted ensureTopic before it finished; the topic never existed.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      this.topics.set(name, await this.openPartitions(name, config));
    }
  }

  private async openPartitions(name: string, config: TopicFileConfig): Promise<TopicState> {
    const settings = this.settingsFor(config);
    const partitions: Partition[] = [];
    for (let p = 0; p < config.partitions; p++) {
      partitions.push(await Partition.open(name, p, join(this.dir, 'topics', name, String(p)), settings));
    }
    return { name, config, partitions, roundRobin: 0 };
  }

  private assertOpen(): void {
    if (this.closing) throw closedError();
  }

  private topicState(name: string): TopicState {
    const t = this.topics.get(name);
    if (t) return t;
    validateName('topic', name);
    throw new TracklaneError('E_TOPIC_NOT_FOUND', `topic ${name} does not exist; create it with ensureTopic`);
  }

  private partitionOf(t: TopicState, partition: number): Partition {
    const p = Number.isInteger(partition) ? t.partitions[partition] : undefined;
    if (!p) {
      throw new TracklaneError(
        'E_BAD_ARGUMENT',
        `topic ${t.name} has partitions 0..${t.partitions.length - 1}; got ${partition}`,
      );
    }
    return p;
  }

  private describe(t: TopicState): TopicDescription {
    return { name: t.name, config: { ...t.config } };
  }

  async ensureTopic(name: string, config: TopicConfig): Promise<TopicDescription> {
    this.assertOpen();
    validateName('topic', name);
    const existing = this.topics.get(name);
    if (existing) return this.describe(existing);
    if (!Number.isSafeInteger(config?.partitions) || config.partitions < 1 || config.partitions > 10_000) {
      throw new TracklaneError('E_BAD_ARGUMENT', `partitions must be an integer in 1..10000`);
    }
    positiveInt(config.retentionMs, 'retentionMs');
    positiveInt(config.retentionBytes, 'retentionBytes');
    positiveInt(config.segmentBytes, 'segmentBytes');
    let pending = this.creating.get(name);
    if (!pending) {
      pending = this.createTopic(name, config).finally(() => this.creating.delete(name));
      this.creating.set(name, pending);
    }
    return pending;
  }

  private async createTopic(name: string, config: TopicConfig): Promise<TopicDescription> {
    const stored: TopicFileConfig = { partitions: config.partitions };
    if (config.retentionMs !== undefined) stored.retentionMs = config.retentionMs;
    if (config.retentionBytes !== undefined) stored.retentionBytes = config.retentionBytes;
    if (config.segmentBytes !== undefined) stored.segmentBytes = config.segmentBytes;
    const topicDir = join(this.dir, 'topics', name);
    await mkdir(topicDir, { recursive: true });
    const state = await this.openPartitions(name, stored);
    // topic.json last: until it exists (durably) the topic does not, so a crash here leaves no half topic.
    await writeFileAtomic(
      join(topicDir, 'topic.json'),
      `${JSON.stringify({ name, config: stored }, null, 2)}\n`,
    );
    await fsyncDir(join(this.dir, 'topics'));
    this.topics.set(name, state);
    return this.describe(state);
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    this.assertOpen();
    return this.describe(this.topicState(name));
  }

  async listTopics(): Promise<string[]> {
    this.assertOpen();
    return [...this.topics.keys()].sort();
  }

  async append(
    topic: string,
    records: RecordInput[],
    options?: { partition?: number },
  ): Promise<AppendAck[]> {
    this.assertOpen();
    const t = this.topicState(topic);
    const n = records.length;
    if (n === 0) return [];
    const now = Date.now();
    const parts = t.partitions;
    let target = -1;
    if (options?.partition !== undefined) {
      this.partitionOf(t, options.partition);
      target = options.partition;
    } else if (parts.length === 1) {
      target = 0;
    } else if (n === 1) {
      // One record lands on one partition: the same placement as appendSpread, without its per-partition arrays
      // (single-event requests are the collector's common case).
      const key = records[0]!.key;
      target =
        key === null || key === undefined
          ? t.roundRobin++ % parts.length
          : partitionForKey(key, parts.length);
    }
    if (target >= 0) {
      const p = parts[target]!;
      p.checkWritable();
      const base = p.assignOffset;
      const durable = p.enqueue(encodeBatch(records, base, now, this.maxRecordBytes, this.pool));
      const acks: AppendAck[] = new Array(n);
      for (let i = 0; i < n; i++) acks[i] = { partition: target, offset: base + i };
      await durable;
      return acks;
    }
    return this.appendSpread(t, records, now);
  }

  /** Key-hash / round-robin placement: one batch per partition touched, all encoded before any is queued. */
  private async appendSpread(t: TopicState, records: RecordInput[], now: number): Promise<AppendAck[]> {
    const parts = t.partitions;
    const count = parts.length;
    const n = records.length;
    const placement = new Int32Array(n);
    const groups: RecordInput[][] = [];
    for (let p = 0; p < count; p++) groups.push([]);
    for (let i = 0; i < n; i++) {
      const key = records[i]!.key;
      const p = key === null || key === undefined ? t.roundRobin++ % count : partitionForKey(key, count);
      placement[i] = p;
      groups[p]!.push(records[i]!);
    }
    const batches: (EncodedBatch | null)[] = [];
    const bases: number[] = [];
    for (let p = 0; p < count; p++) {
      const group = groups[p]!;
      bases.push(parts[p]!.assignOffset);
      if (group.length === 0) {
        batches.push(null);
        continue;
      }
      parts[p]!.checkWritable();
      batches.push(encodeBatch(group, bases[p]!, now, this.maxRecordBytes, this.pool));
    }
    const durable: Promise<void>[] = [];
    for (let p = 0; p < count; p++) {
      const batch = batches[p];
      if (batch) durable.push(parts[p]!.enqueue(batch));
    }
    const acks: AppendAck[] = new Array(n);
    const next = bases;
    for (let i = 0; i < n; i++) {
      const p = placement[i]!;
      acks[i] = { partition: p, offset: next[p]!++ };
    }
    await Promise.all(durable);
    return acks;
  }

  async read(topic: string, partition: number, offset: number, options?: ReadOptions): Promise<LogRecord[]> {
    this.assertOpen();
    const p = this.partitionOf(this.topicState(topic), partition);
    if (!Number.isSafeInteger(offset)) {
      throw new TracklaneError('E_BAD_ARGUMENT', `offset must be an integer, got ${offset}`);
    }
    const maxRecords = options?.maxRecords ?? DEFAULT_READ_MAX_RECORDS;
    const maxBytes = options?.maxBytes ?? DEFAULT_READ_MAX_BYTES;
    positiveInt(maxRecords, 'maxRecords');
    positiveInt(maxBytes, 'maxBytes');
    const budget: ReadBudget = { out: [], maxRecords, bytesLeft: maxBytes };
    await p.read(Math.max(0, offset), budget);
    return budget.out;
  }

  async offsets(topic: string): Promise<PartitionOffsets[]> {
    this.assertOpen();
    return this.topicState(topic).partitions.map((p) => ({
      partition: p.index,
      start: p.startOffset,
      end: p.endOffset,
    }));
  }

  async offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    this.assertOpen();
    return this.partitionOf(this.topicState(topic), partition).offsetForTimestamp(timestamp);
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    this.assertOpen();
    validateName('group', options.group);
    if (!Array.isArray(options.topics) || options.topics.length === 0) {
      throw new TracklaneError('E_BAD_ARGUMENT', 'a consumer needs at least one topic');
    }
    for (const topic of options.topics) this.topicState(topic);
    const consumer = new EmbeddedConsumer(this.host, this.coordinator, options);
    this.consumers.add(consumer);
    this.coordinator.join(consumer);
    return consumer;
  }

  async committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    this.assertOpen();
    validateName('group', group);
    validateName('topic', topic);
    return this.offsetStore.get(group, topic);
  }

  async enforceRetention(): Promise<void> {
    this.assertOpen();
    await this.retention.run();
  }

  private range(topic: string, partition: number): { start: number; end: number } {
    const p = this.partitionOf(this.topicState(topic), partition);
    return { start: p.startOffset, end: p.endOffset };
  }

  private async readInto(
    topic: string,
    partition: number,
    offset: number,
    budget: ReadBudget,
  ): Promise<void> {
    await this.partitionOf(this.topicState(topic), partition).read(offset, budget);
  }

  private async commitOffsets(group: string, offsets: TopicPartitionOffset[]): Promise<void> {
    for (const o of offsets) this.partitionOf(this.topicState(o.topic), o.partition);
    await this.offsetStore.commit(group, offsets);
  }

  private waitForChange(seq: number, timeoutMs: number): Promise<void> {
    if (seq !== this.seq || this.closing) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  private wake(): void {
    this.seq++;
    if (this.waiters.size === 0) return;
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const w of waiters) w();
  }

  private async closePartitions(): Promise<void> {
    for (const t of this.topics.values()) for (const p of t.partitions) await p.close();
  }

  /** Flushes and fsyncs pending appends, closes files and releases the lock. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    for (const c of this.consumers) c.detach();
    this.wake();
    await this.retention.stop();
    try {
      try {
        // Drains every queued append and checkpoints, so a clean close leaves no commit log to replay.
        await this.flusher.close();
      } finally {
        await this.closePartitions();
      }
      await this.offsetStore.flush();
    } finally {
      await this.lock.release();
    }
  }
}
