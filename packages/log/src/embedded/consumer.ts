import { TracklaneError } from '@tracklane/core';
import { callRebalanceListener, pollLimits } from '../consumer-support.ts';
import type {
  Consumer,
  LogRecord,
  PollOptions,
  RebalanceListener,
  TopicPartition,
  TopicPartitionOffset,
} from '../log.ts';
import { assertConsumerOffset } from '../offset-check.ts';
import type { GroupCoordinator, GroupMember } from './group-coordinator.ts';
import type { ReadBudget } from './record-batch.ts';

/** What a consumer needs from the log that owns it. */
export interface ConsumerHost {
  range(topic: string, partition: number): { start: number; end: number };
  readInto(topic: string, partition: number, offset: number, budget: ReadBudget): Promise<void>;
  committed(group: string, topic: string, partition: number): number | undefined;
  commit(group: string, offsets: TopicPartitionOffset[]): Promise<void>;
  /** Current value of a counter bumped whenever records become durable (or a consumer must wake). */
  readonly changeSeq: number;
  /** Resolves once `changeSeq` differs from `seq`, or after `timeoutMs`. */
  waitForChange(seq: number, timeoutMs: number): Promise<void>;
  wake(): void;
  assertOpen(): void;
}

interface Owned {
  topic: string;
  partition: number;
  /** Offset of the next record to return. */
  position: number;
}

const POLL_MAX_BYTES = 8 << 20;

export class EmbeddedConsumer implements Consumer, GroupMember {
  readonly group: string;
  readonly memberId: string;
  readonly topics: readonly string[];
  private readonly from: 'earliest' | 'latest';
  private owned: Owned[] = [];
  private readonly listeners: RebalanceListener[] = [];
  private closed = false;
  private nextPartition = 0;

  constructor(
    private readonly host: ConsumerHost,
    private readonly coordinator: GroupCoordinator,
    options: { group: string; topics: string[]; from?: 'earliest' | 'latest' },
  ) {
    this.group = options.group;
    this.topics = [...new Set(options.topics)];
    this.from = options.from ?? 'earliest';
    this.memberId = coordinator.newMemberId(options.group);
  }

  assignment(): TopicPartition[] {
    return this.owned.map((o) => ({ topic: o.topic, partition: o.partition }));
  }

  /** Called by the coordinator. Kept partitions keep their position; new ones start at the committed offset. */
  assign(partitions: TopicPartition[]): void {
    const previous = this.owned;
    const next: Owned[] = [];
    let changed = previous.length !== partitions.length;
    for (const tp of partitions) {
      const kept = previous.find((o) => o.topic === tp.topic && o.partition === tp.partition);
      if (kept) {
        next.push(kept);
        continue;
      }
      changed = true;
      const range = this.host.range(tp.topic, tp.partition);
      const committed = this.host.committed(this.group, tp.topic, tp.partition);
      const position = committed ?? (this.from === 'latest' ? range.end : range.start);
      next.push({ topic: tp.topic, partition: tp.partition, position });
    }
    this.owned = next;
    if (!changed) return;
    this.host.wake();
    const assignment = this.assignment();
    for (const listener of this.listeners) callRebalanceListener(listener, assignment, this.memberId);
  }

  private assertOpen(): void {
    this.host.assertOpen();
    if (this.closed) throw new TracklaneError('E_LOG_CLOSED', `consumer ${this.memberId} is closed`);
  }

  async poll(options?: PollOptions): Promise<LogRecord[]> {
    this.assertOpen();
    const { maxRecords, deadline } = pollLimits(options);
    for (;;) {
      // Read the counter before reading records, so an append that lands during the read is not missed.
      const seq = this.host.changeSeq;
      const records = await this.readOwned(maxRecords);
      if (records.length > 0 || this.closed) return records;
      const left = deadline - Date.now();
      if (left <= 0) return records;
      await this.host.waitForChange(seq, left);
    }
  }

  private async readOwned(maxRecords: number): Promise<LogRecord[]> {
    const budget: ReadBudget = { out: [], maxRecords, bytesLeft: POLL_MAX_BYTES };
    const owned = this.owned;
    const n = owned.length;
    // Rotate the starting partition so a busy partition cannot starve the others.
    const first = n === 0 ? 0 : this.nextPartition++ % n;
    for (let i = 0; i < n && budget.out.length < maxRecords && budget.bytesLeft > 0; i++) {
      const o = owned[(first + i) % n]!;
      const range = this.host.range(o.topic, o.partition);
      if (o.position < range.start) o.position = range.start;
      if (o.position >= range.end) continue;
      const before = budget.out.length;
      await this.host.readInto(o.topic, o.partition, o.position, budget);
      if (budget.out.length > before) o.position = budget.out[budget.out.length - 1]!.offset + 1;
    }
    return budget.out;
  }

  async commit(offsets?: TopicPartitionOffset[]): Promise<void> {
    this.assertOpen();
    const entries =
      offsets ?? this.owned.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.position }));
    for (const e of entries) assertConsumerOffset('commit', e.offset);
    if (entries.length > 0) await this.host.commit(this.group, entries);
  }

  seek(target: TopicPartitionOffset): void {
    this.assertOpen();
    const o = this.owned.find((x) => x.topic === target.topic && x.partition === target.partition);
    if (!o) {
      throw new TracklaneError(
        'E_BAD_ARGUMENT',
        `${this.memberId} does not own ${target.topic}/${target.partition}; seek only owned partitions`,
      );
    }
    assertConsumerOffset('seek', target.offset);
    o.position = target.offset;
  }

  onRebalance(listener: RebalanceListener): void {
    this.listeners.push(listener);
    // The join's rebalance happened before the caller could register, so replay the current assignment once.
    queueMicrotask(() => {
      if (!this.closed) callRebalanceListener(listener, this.assignment(), this.memberId);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.coordinator.leave(this);
    this.owned = [];
    this.host.wake();
  }

  /** Used when the whole log closes: no rebalance, just stop. */
  detach(): void {
    this.closed = true;
    this.owned = [];
  }
}
