import type { Log, LogRecord } from '@tracklane/log';
import { type Duration, toMs } from '../windows/duration.ts';

export interface TableOptions<T, V> {
  /** The table key of an element; elements without one are ignored. */
  key: (value: T) => string | null | undefined;
  /** Folds an element into the key's current value; returning undefined deletes the key. */
  reduce: (previous: V | undefined, value: T) => V | undefined;
  /** Event time of an update, epoch ms. Default: the record's append timestamp (as `from` does). */
  eventTime?: (value: T, record: LogRecord) => number;
  /**
   * How much history to keep per key, in event time behind the newest update: older updates are folded
   * into one base value. Default: all of it. A stream element older than this behind the newest update
   * then joins the base, which may already include updates later than it.
   */
  retention?: Duration;
}

/** Where an element stands in event time and in the log: what a join asks the table "as of". */
export interface TablePosition {
  ts: number;
  topic: string;
  partition: number;
  offset: number;
}

interface Update<T, V> {
  ts: number;
  partition: number;
  offset: number;
  value: T;
  /** The key's value once this update and every earlier one are folded in. */
  folded: V | undefined;
}

interface History<T, V> {
  /** Everything folded out of `updates` by retention. */
  base: V | undefined;
  /** Sorted by (ts, partition, offset): event time first, then log order. */
  updates: Update<T, V>[];
}

/**
 * A table materialised from a topic (Kafka Streams' GlobalKTable): every partition is read, whatever
 * partitions the reading engine owns, so a stream keyed one way can look up a table keyed another. The
 * engine catches the table up to the topic's end before each batch it processes.
 *
 * The table keeps each key's history in event time, and a join reads it as of the stream element's
 * event time (`asOf`): an element sees the updates no later than itself, folded in event-time order (log
 * order on ties). What a join returns therefore depends on the log's contents, not on how far the table
 * had been read when the element was processed, and a replay, which reads the whole table first, joins
 * every element as the first run did. The exception is an update that reaches the log after a stream
 * element it precedes in event time was processed: the first run could not see it, a replay does.
 */
export class Table<T, V> {
  private readonly histories = new Map<string, History<T, V>>();
  private readonly positions = new Map<number, number>();
  private catching: Promise<void> | undefined;
  private readonly eventTime: (value: T, record: LogRecord) => number;
  private readonly retentionMs: number | undefined;
  private newest = Number.NEGATIVE_INFINITY;
  private compactedAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly log: Log,
    readonly topic: string,
    private readonly decode: (record: LogRecord) => T,
    private readonly options: TableOptions<T, V>,
  ) {
    this.eventTime = options.eventTime ?? ((_value, record) => record.timestamp);
    this.retentionMs = options.retention === undefined ? undefined : toMs(options.retention);
  }

  /** The key's value with every update read so far folded in. */
  get(key: string | null | undefined): V | undefined {
    if (key === null || key === undefined) return undefined;
    const history = this.histories.get(key);
    if (history === undefined) return undefined;
    return history.updates.length === 0 ? history.base : history.updates.at(-1)!.folded;
  }

  /**
   * The key's value as of `at`: updates with an earlier event time, and on the same event time those
   * earlier in the log (of the same topic; another topic's updates at the same time count as earlier).
   */
  asOf(key: string | null | undefined, at: TablePosition): V | undefined {
    if (key === null || key === undefined) return undefined;
    const history = this.histories.get(key);
    if (history === undefined) return undefined;
    const { updates } = history;
    const sameTopic = at.topic === this.topic;
    // The last update not after `at`: binary search over the sorted history.
    let lo = 0;
    let hi = updates.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const u = updates[mid]!;
      const before =
        u.ts < at.ts ||
        (u.ts === at.ts &&
          (!sameTopic ||
            u.partition < at.partition ||
            (u.partition === at.partition && u.offset < at.offset)));
      if (before) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? history.base : updates[lo - 1]!.folded;
  }

  get size(): number {
    let n = 0;
    for (const key of this.histories.keys()) if (this.get(key) !== undefined) n++;
    return n;
  }

  /** Reads every partition to its current end. Concurrent callers share one pass. */
  catchUp(): Promise<void> {
    this.catching ??= this.readToEnd().finally(() => {
      this.catching = undefined;
    });
    return this.catching;
  }

  private async readToEnd(): Promise<void> {
    for (const { partition, start, end } of await this.log.offsets(this.topic)) {
      let offset = Math.max(this.positions.get(partition) ?? start, start);
      while (offset < end) {
        const records = await this.log.read(this.topic, partition, offset, { maxRecords: 5000 });
        if (records.length === 0) break;
        for (const record of records) this.apply(record);
        offset = records[records.length - 1]!.offset + 1;
      }
      this.positions.set(partition, offset);
    }
    this.compact();
  }

  private apply(record: LogRecord): void {
    let value: T;
    let ts: number;
    try {
      value = this.decode(record);
      ts = this.eventTime(value, record);
    } catch {
      // An undecodable record cannot update the table; the stream that owns the topic dead-letters it.
      return;
    }
    if (!Number.isFinite(ts)) return;
    const key = this.options.key(value);
    if (key === null || key === undefined) return;
    let history = this.histories.get(key);
    if (history === undefined) {
      history = { base: undefined, updates: [] };
      this.histories.set(key, history);
    }
    const { updates } = history;
    const update: Update<T, V> = {
      ts,
      partition: record.partition,
      offset: record.offset,
      value,
      folded: undefined,
    };
    // Usually the newest: appended. An out-of-order update is inserted and the folds after it redone.
    let at = updates.length;
    while (at > 0 && later(updates[at - 1]!, update)) at--;
    updates.splice(at, 0, update);
    let previous = at === 0 ? history.base : updates[at - 1]!.folded;
    for (let i = at; i < updates.length; i++) {
      const u = updates[i]!;
      u.folded = this.options.reduce(previous, u.value);
      previous = u.folded;
    }
    if (ts > this.newest) this.newest = ts;
  }

  /** Folds history older than the retention into each key's base; runs when time moved on enough. */
  private compact(): void {
    const retention = this.retentionMs;
    if (retention === undefined || this.newest - this.compactedAt < retention / 10) return;
    this.compactedAt = this.newest;
    const before = this.newest - retention;
    for (const [key, history] of this.histories) {
      const { updates } = history;
      let n = 0;
      while (n < updates.length && updates[n]!.ts < before) n++;
      if (n === 0) continue;
      history.base = updates[n - 1]!.folded;
      updates.splice(0, n);
      if (updates.length === 0 && history.base === undefined) this.histories.delete(key);
    }
  }
}

function later<T, V>(a: Update<T, V>, b: Update<T, V>): boolean {
  return (
    a.ts > b.ts ||
    (a.ts === b.ts && (a.partition > b.partition || (a.partition === b.partition && a.offset > b.offset)))
  );
}

export function table<T, V>(
  log: Log,
  topic: string,
  decode: (record: LogRecord) => T,
  options: TableOptions<T, V>,
): Table<T, V> {
  return new Table(log, topic, decode, options);
}
