import type { Log, LogRecord } from '@tracklane/log';

export interface TableOptions<T, V> {
  /** The table key of an element; elements without one are ignored. */
  key: (value: T) => string | null | undefined;
  /** Folds an element into the key's current value; returning undefined deletes the key. */
  reduce: (previous: V | undefined, value: T) => V | undefined;
}

/**
 * A table materialised from a topic (Kafka Streams' GlobalKTable): every partition is read, whatever
 * partitions the reading engine owns, so a stream keyed one way can look up a table keyed another. The
 * engine catches the table up to the topic's end before each batch it processes, so an `identify`
 * appended before a `track` is always visible to it.
 *
 * Held in memory and rebuilt from the topic on start; a join therefore sees the table as of processing
 * time, which on replay may be newer than it was the first time.
 */
export class Table<T, V> {
  private readonly values = new Map<string, V>();
  private readonly positions = new Map<number, number>();
  private catching: Promise<void> | undefined;

  constructor(
    readonly log: Log,
    readonly topic: string,
    private readonly decode: (record: LogRecord) => T,
    private readonly options: TableOptions<T, V>,
  ) {}

  get(key: string | null | undefined): V | undefined {
    return key === null || key === undefined ? undefined : this.values.get(key);
  }

  get size(): number {
    return this.values.size;
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
  }

  private apply(record: LogRecord): void {
    let value: T;
    try {
      value = this.decode(record);
    } catch {
      // An undecodable record cannot update the table; the stream that owns the topic dead-letters it.
      return;
    }
    const key = this.options.key(value);
    if (key === null || key === undefined) return;
    const next = this.options.reduce(this.values.get(key), value);
    if (next === undefined) this.values.delete(key);
    else this.values.set(key, next);
  }
}

export function table<T, V>(
  log: Log,
  topic: string,
  decode: (record: LogRecord) => T,
  options: TableOptions<T, V>,
): Table<T, V> {
  return new Table(log, topic, decode, options);
}
