import { mkdir, readdir } from 'node:fs/promises';
import { TracklaneError } from '@tracklane/core';
import type { LogRecord } from '../log.ts';
import type { BufferPool } from './buffer-pool.ts';
import type { EncodedBatch, ReadBudget } from './record-batch.ts';
import { budgetFull } from './record-batch.ts';
import { parseSegmentFileName, Segment } from './segment.ts';

export interface PartitionSettings {
  segmentBytes: number;
  indexIntervalBytes: number;
  /** Called after a flush made records durable (wakes pollers). */
  onDurable: () => void;
  /** Called after the partition rolled to a new segment (retention may now delete one). */
  onRoll: () => void;
  /** Where written batch buffers go back for reuse. */
  pool: BufferPool;
}

interface FlushGroup {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function newFlushGroup(): FlushGroup {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * One partition: its segments, the group-commit writer and the durable high-water mark.
 *
 * Group commit: `enqueue` only queues an encoded batch and returns the promise of the flush that will carry it.
 * A flush takes everything queued, writes it with one writev and makes it durable with one fdatasync (two if a
 * segment roll falls inside), then resolves every append it carried at once. While a flush is in flight, new
 * batches queue for the next one. The next flush starts on setImmediate, after the resolved appenders'
 * continuations have run, so appenders that re-append right after their ack share the next fsync instead of
 * splitting into alternating half-sized flushes.
 */
export class Partition {
  readonly topic: string;
  readonly index: number;
  readonly dir: string;
  private readonly segments: Segment[];
  private readonly settings: PartitionSettings;
  /** Offset the next enqueued record gets. */
  private nextOffset: number;
  private queue: Buffer[] = [];
  private queueMeta: number[] = [];
  private queueBytes = 0;
  private group: FlushGroup | null = null;
  private flushing: Promise<void> | null = null;
  private failure: TracklaneError | null = null;
  private readonly runFlush = () => {
    this.flushing = this.flush();
  };

  private constructor(
    topic: string,
    index: number,
    dir: string,
    segments: Segment[],
    settings: PartitionSettings,
  ) {
    this.topic = topic;
    this.index = index;
    this.dir = dir;
    this.segments = segments;
    this.settings = settings;
    const active = segments[segments.length - 1]!;
    this.nextOffset = active.endOffset;
  }

  /** Opens (or creates) a partition directory, recovering the active segment. */
  static async open(
    topic: string,
    index: number,
    dir: string,
    settings: PartitionSettings,
  ): Promise<Partition> {
    await mkdir(dir, { recursive: true });
    const bases = (await readdir(dir))
      .map(parseSegmentFileName)
      .filter((b): b is number => b !== null)
      .sort((a, b) => a - b);
    const segments: Segment[] = [];
    if (bases.length === 0) {
      segments.push(await Segment.create(dir, 0, settings.indexIntervalBytes));
    } else {
      for (let i = 0; i < bases.length; i++) {
        const last = i === bases.length - 1;
        const { segment } = await Segment.load(dir, bases[i]!, {
          verify: last,
          keepOpen: last,
          indexInterval: settings.indexIntervalBytes,
        });
        segments.push(segment);
      }
    }
    return new Partition(topic, index, dir, segments, settings);
  }

  get startOffset(): number {
    return this.segments[0]!.baseOffset;
  }

  /** The high-water mark: every offset below it is durable and readable. */
  get endOffset(): number {
    return this.segments[this.segments.length - 1]!.endOffset;
  }

  /** Offset the next batch will start at; callers encode with it, then `enqueue` synchronously. */
  get assignOffset(): number {
    return this.nextOffset;
  }

  get sizeBytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.size;
    return total;
  }

  checkWritable(): void {
    if (this.failure) throw this.failure;
  }

  /** Queues an encoded batch (which must start at `assignOffset`); resolves once it is durable. */
  enqueue(batch: EncodedBatch): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.queue.push(batch.buffer);
    this.queueMeta.push(this.nextOffset, batch.recordCount, batch.maxTimestamp);
    this.queueBytes += batch.buffer.length;
    this.nextOffset += batch.recordCount;
    if (this.group === null) {
      this.group = newFlushGroup();
      if (this.flushing === null) setImmediate(this.runFlush);
    }
    return this.group.promise;
  }

  private async flush(): Promise<void> {
    while (this.group !== null) {
      const group = this.group;
      const buffers = this.queue;
      const meta = this.queueMeta;
      const bytes = this.queueBytes;
      this.group = null;
      this.queue = [];
      this.queueMeta = [];
      this.queueBytes = 0;
      try {
        await this.writeDurably(buffers, meta, bytes);
        group.resolve();
        const pool = this.settings.pool;
        for (let i = 0; i < buffers.length; i++) pool.give(buffers[i]!);
      } catch (err) {
        // After a failed write or fsync the file's state is unknown (the page cache may have dropped the
        // data), so the partition stops accepting appends; reopening the log recovers from what is on disk.
        this.failure = new TracklaneError(
          'E_NOT_READY',
          `partition ${this.topic}/${this.index} failed to write (${(err as Error).message}); reopen the log`,
          { cause: err },
        );
        group.reject(this.failure);
        if (this.group !== null) {
          (this.group as FlushGroup).reject(this.failure);
          this.group = null;
        }
        break;
      }
      if (this.group !== null) {
        // Let the continuations of the appends just resolved run (and re-append) before the next flush.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    this.flushing = null;
  }

  private async writeDurably(buffers: Buffer[], meta: number[], bytes: number): Promise<void> {
    const segmentBytes = this.settings.segmentBytes;
    let active = this.segments[this.segments.length - 1]!;
    if (active.size + bytes <= segmentBytes || (buffers.length === 1 && active.size === 0)) {
      await active.write(buffers, bytes, active.size);
      await active.sync();
      let pos = active.size;
      for (let i = 0; i < buffers.length; i++) {
        const len = buffers[i]!.length;
        active.addToIndex(meta[i * 3]!, meta[i * 3 + 1]!, pos, len, meta[i * 3 + 2]!);
        pos += len;
      }
      this.settings.onDurable();
      return;
    }
    // Slow path: the flush crosses segment boundaries; write run by run, rolling between runs.
    let i = 0;
    while (i < buffers.length) {
      const first = buffers[i]!.length;
      if (active.size > 0 && active.size + first > segmentBytes) {
        active = await this.roll(meta[i * 3]!);
      }
      let j = i;
      let runBytes = 0;
      while (j < buffers.length && (j === i || active.size + runBytes + buffers[j]!.length <= segmentBytes)) {
        runBytes += buffers[j]!.length;
        j++;
      }
      await active.write(buffers.slice(i, j), runBytes, active.size);
      await active.sync();
      let pos = active.size;
      for (let k = i; k < j; k++) {
        const len = buffers[k]!.length;
        active.addToIndex(meta[k * 3]!, meta[k * 3 + 1]!, pos, len, meta[k * 3 + 2]!);
        pos += len;
      }
      this.settings.onDurable();
      i = j;
    }
  }

  /** Starts a new segment at `baseOffset`; the current one is already fsynced (every flush ends with one). */
  private async roll(baseOffset: number): Promise<Segment> {
    const previous = this.segments[this.segments.length - 1]!;
    const segment = await Segment.create(this.dir, baseOffset, this.settings.indexIntervalBytes);
    this.segments.push(segment);
    // Closed segments are read rarely; their handles reopen lazily.
    await previous.close();
    this.settings.onRoll();
    return segment;
  }

  async read(fromOffset: number, budget: ReadBudget): Promise<void> {
    let offset = fromOffset;
    while (!budgetFull(budget)) {
      const segments = this.segments;
      if (offset < segments[0]!.baseOffset) offset = segments[0]!.baseOffset;
      const end = segments[segments.length - 1]!.endOffset;
      if (offset >= end) return;
      const segment = segments[this.segmentIndexFor(offset)]!;
      const before = budget.out.length;
      try {
        await segment.read(this.topic, this.index, offset, budget);
      } catch (err) {
        if (!segment.deleted) throw err;
      }
      if (budgetFull(budget)) return;
      if (budget.out.length > before) offset = budget.out[budget.out.length - 1]!.offset + 1;
      // Retention deleted the segment under us: resolve again from the (clamped) offset.
      if (segment.deleted) continue;
      // The offsets after a damaged segment's valid prefix are reported by the next read, which throws.
      if (segment.damaged) return;
      const i = this.segmentIndexFor(segment.baseOffset);
      if (i + 1 >= this.segments.length) return;
      offset = Math.max(offset, this.segments[i + 1]!.baseOffset);
    }
  }

  private segmentIndexFor(offset: number): number {
    const segments = this.segments;
    let lo = 0;
    let hi = segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  async offsetForTimestamp(timestamp: number): Promise<number> {
    for (const segment of this.segments.slice()) {
      if (segment.maxTimestamp < timestamp) continue;
      try {
        const found = await segment.offsetForTimestamp(timestamp);
        if (found >= 0) return found;
      } catch (err) {
        if (!segment.deleted) throw err;
      }
    }
    return this.endOffset;
  }

  /** Deletes closed segments by age then size; the active segment always stays. Returns segments deleted. */
  async enforceRetention(now: number, retentionMs?: number, retentionBytes?: number): Promise<number> {
    const doomed: Segment[] = [];
    const segments = this.segments;
    if (retentionMs !== undefined) {
      while (segments.length > 1 && segments[0]!.maxTimestamp < now - retentionMs) {
        doomed.push(segments.shift()!);
      }
    }
    if (retentionBytes !== undefined) {
      let total = this.sizeBytes;
      while (segments.length > 1 && total > retentionBytes) {
        const s = segments.shift()!;
        total -= s.size;
        doomed.push(s);
      }
    }
    for (const s of doomed) await s.delete();
    return doomed.length;
  }

  /** Waits for queued appends to become durable. */
  async drain(): Promise<void> {
    while (this.flushing !== null || this.group !== null) {
      if (this.flushing) await this.flushing;
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async close(): Promise<void> {
    await this.drain();
    this.failure ??= new TracklaneError('E_LOG_CLOSED', 'the log is closed');
    for (const s of this.segments) await s.close();
  }
}

export type { LogRecord };
