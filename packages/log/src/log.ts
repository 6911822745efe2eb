/**
 * The Log: Tracklane's broker and source of truth. Shaped after Kafka's model (topics, partitions, offsets,
 * consumer groups) so that the embedded log, NATS JetStream and Kafka can all implement it unchanged.
 */

export interface TopicConfig {
  partitions: number;
  /** Delete whole segments whose newest record is older than this. Undefined: keep forever. */
  retentionMs?: number;
  /** Per partition: delete oldest segments while the partition is larger than this. */
  retentionBytes?: number;
  /** Roll to a new segment file after this many bytes (embedded log only; others ignore it). */
  segmentBytes?: number;
}

export interface TopicDescription {
  name: string;
  config: Required<Pick<TopicConfig, 'partitions'>> & TopicConfig;
}

export type Headers = Record<string, string>;

export interface RecordInput {
  /** Records with the same key go to the same partition, in order. Null/undefined: spread round-robin. */
  key?: string | Uint8Array | null;
  value: Uint8Array;
  headers?: Headers;
  /** Milliseconds since the epoch; defaults to the append time. */
  timestamp?: number;
}

export interface LogRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer;
  headers: Headers;
  timestamp: number;
}

export interface AppendAck {
  partition: number;
  offset: number;
}

export interface PartitionOffsets {
  partition: number;
  /** Earliest offset still retained. */
  start: number;
  /** The offset the next appended record will get (also: number of records ever appended). */
  end: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  /** Kafka convention: the offset of the next record to consume. */
  offset: number;
}

export interface ReadOptions {
  maxRecords?: number;
  maxBytes?: number;
}

export interface ConsumerOptions {
  group: string;
  topics: string[];
  /** Where a partition with no committed offset starts. Default 'earliest'. */
  from?: 'earliest' | 'latest';
}

export interface PollOptions {
  maxRecords?: number;
  /** Wait up to this long for records when none are ready. Default 1000. */
  timeoutMs?: number;
}

export type RebalanceListener = (assignment: TopicPartition[]) => void;

export interface Consumer {
  readonly group: string;
  readonly memberId: string;
  /** Partitions this member currently owns. */
  assignment(): TopicPartition[];
  /** Records from owned partitions after the current position; advances the position. */
  poll(options?: PollOptions): Promise<LogRecord[]>;
  /** Commits the given offsets, or by default the position after everything `poll` returned. */
  commit(offsets?: TopicPartitionOffset[]): Promise<void>;
  /** Moves the position of an owned partition (used to resume from externally checkpointed offsets). */
  seek(target: TopicPartitionOffset): void;
  /** Called after every assignment change (join, leave, topic change); also once after joining. */
  onRebalance(listener: RebalanceListener): void;
  /** Leaves the group; remaining members take over its partitions. */
  close(): Promise<void>;
}

export interface Log {
  /** Creates the topic if missing (idempotent). An existing topic keeps its partition count. */
  ensureTopic(name: string, config: TopicConfig): Promise<TopicDescription>;
  describeTopic(name: string): Promise<TopicDescription>;
  listTopics(): Promise<string[]>;
  /**
   * Appends records and resolves only once all of them are durable. Acks come back in input order.
   * `partition` overrides key-hash placement for every record of the call.
   */
  append(topic: string, records: RecordInput[], options?: { partition?: number }): Promise<AppendAck[]>;
  /** Records of one partition from `offset` on (clamped to the retained range); [] at the end. */
  read(topic: string, partition: number, offset: number, options?: ReadOptions): Promise<LogRecord[]>;
  offsets(topic: string): Promise<PartitionOffsets[]>;
  /** First offset whose record timestamp is >= `timestamp`, or the end offset if none. */
  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number>;
  consumer(options: ConsumerOptions): Promise<Consumer>;
  committedOffsets(group: string, topic: string): Promise<Map<number, number>>;
  /** Applies retention now (implementations also run it on a schedule). */
  enforceRetention(): Promise<void>;
  close(): Promise<void>;
}
