import { mkdir, readdir } from 'node:fs/promises';
import { TracklaneError } from '@tracklane/core';
import type { LogRecord } from '../log.ts';
import type { BufferPool } from './buffer-pool.ts';
import type { CommitLogEntry } from './commit-log-entry.ts';
import { encodeEntryHeader } from './commit-log-entry.ts';
import type { EncodedBatch, ReadBudget } from './record-batch.ts';
import { budgetFull, readBatchHeader } from './record-batch.ts';
import { parseSegmentFileName, Segment } from './segment.ts';

/** Runs the flush cycles of a log (flush-coordinator.ts); a partition only tells it it has appends queued. */
export interface FlushScheduler {
  markDirty(partition: Partition): void;
}

export interface PartitionSettings {
  segmentBytes: number;
  indexIntervalBytes: number;
  /** Called after a flush made records durable (wakes pollers). */
  onDurable: () => void;
  /** Called after the partition rolled to a new segment (retention may now delete one). */
  onRoll: () => void;
  /** Where written batch buffers go back for reuse. */
  pool: BufferPool;
  flusher: FlushScheduler;
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
 * Makes batches `from` to `to` (exclusive) of a flush, written back to back at `position` in `segment`, findable
 * by offset: the step that makes written bytes visible once they are durable. `meta` holds per batch its base
 * offset, record count and max timestamp.
 */
function indexBatches(
  segment: Segment,
  buffers: Buffer[],
  meta: number[],
  from: number,
  to: number,
  position: number,
): void {
  let pos = position;
  for (let i = from; i < to; i++) {
    const len = buffers[i]!.length;
    segment.addToIndex(meta[i * 3]!, meta[i * 3 + 1]!, pos, len, meta[i * 3 + 2]!);
    pos += len;
  }
}

/** The appends one flush cycle took from a partition's queue. */
export interface PendingFlush {
  readonly partition: Partition;
  readonly group: FlushGroup;
  readonly buffers: Buffer[];
  /** Per batch: base offset, record count, max timestamp. */
  readonly meta: number[];
  readonly bytes: number;
  /** Where `writeUnsynced` put the batches, for `publish`. */
  segment: Segment | null;
  position: number;
}

/**
 * One partition: its segments, its queue of appends and the durable high-water mark.
 *
 * Group commit: `enqueue` only queues an encoded batch and returns the promise of the flush that will carry it;
 * the first append of a group tells the log's flush coordinator (flush-coordinator.ts) that this partition is
 * dirty. The coordinator's cycle takes the queue (`takePending`) and makes it durable either here
 * (`writeDurably`: writev + fdatasync of the segment, when this is the only dirty partition or the batches
 * cross a segment boundary) or through the commit log (`writeUnsynced`, then `publish` after the commit log's
 * fdatasync). Either way every append of the group resolves at once, after the fsync that covers its bytes.
 */
export class Partition {
  readonly topic: string;
  readonly index: number;
  readonly dir: string;
  private readonly segments: Segment[];
  private readonly settings: PartitionSettings;
  /** The topic name as written into commit-log entries, encoded once. */
  private readonly topicBytes: Buffer;
  /** Offset the next enqueued record gets. */
  private nextOffset: number;
  private queue: Buffer[] = [];
  private queueMeta: number[] = [];
  private queueBytes = 0;
  private group: FlushGroup | null = null;
  private failure: TracklaneError | null = null;

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
    this.topicBytes = Buffer.from(topic);
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

  /** True once a write or fsync failed (not merely closed): its page cache may have dropped acknowledged bytes. */
  get failed(): boolean {
    return this.failure !== null && this.failure.code === 'E_NOT_READY';
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
      this.settings.flusher.markDirty(this);
    }
    return this.group.promise;
  }

  /** Takes everything queued for one flush cycle; appends enqueued from now on wait for the next cycle. */
  takePending(): PendingFlush | null {
    const group = this.group;
    if (group === null) return null;
    const pending: PendingFlush = {
      partition: this,
      group,
      buffers: this.queue,
      meta: this.queueMeta,
      bytes: this.queueBytes,
      segment: null,
      position: 0,
    };
    this.group = null;
    this.queue = [];
    this.queueMeta = [];
    this.queueBytes = 0;
    return pending;
  }

  /** True when `pending` fits the active segment, so it can be written without a roll (`writeUnsynced`). */
  fitsActiveSegment(pending: PendingFlush): boolean {
    const active = this.segments[this.segments.length - 1]!;
    return (
      active.size + pending.bytes <= this.settings.segmentBytes ||
      (pending.buffers.length === 1 && active.size === 0)
    );
  }

  /**
   * Writes `pending` into the active segment WITHOUT fdatasync and pushes its commit-log entry (header, then the
   * same batch buffers) onto `entries`; returns the entry's bytes. Nothing is visible until `publish`, which the
   * coordinator calls only after the commit log's fdatasync. Requires `fitsActiveSegment(pending)`.
   */
  async writeUnsynced(pending: PendingFlush, entries: Buffer[]): Promise<number> {
    const active = this.segments[this.segments.length - 1]!;
    const position = active.size;
    await active.write(pending.buffers, pending.bytes, position);
    // Marked before the commit-log write, so a checkpoint that seals the file carrying this entry finds it.
    active.markUnsynced();
    pending.segment = active;
    pending.position = position;
    const meta = pending.meta;
    const batches = pending.buffers.length;
    const records = meta[(batches - 1) * 3]! + meta[(batches - 1) * 3 + 1]! - meta[0]!;
    const header = encodeEntryHeader(this.topicBytes, this.index, meta[0]!, records, pending.bytes);
    entries.push(header);
    for (let i = 0; i < batches; i++) entries.push(pending.buffers[i]!);
    return header.length + pending.bytes;
  }

  /** Makes the batches `writeUnsynced` put in the segment visible (they are durable in the commit log). */
  publish(pending: PendingFlush): void {
    indexBatches(
      pending.segment!,
      pending.buffers,
      pending.meta,
      0,
      pending.buffers.length,
      pending.position,
    );
    this.settings.onDurable();
    this.complete(pending);
  }

  /** Resolves the appends of a durable flush and recycles its buffers (no write references them any more). */
  complete(pending: PendingFlush): void {
    pending.group.resolve();
    const pool = this.settings.pool;
    const buffers = pending.buffers;
    for (let i = 0; i < buffers.length; i++) pool.give(buffers[i]!);
  }

  /**
   * Stops the partition after a failed write or fsync: the file's state is unknown (the page cache may have
   * dropped the data), so it accepts no more appends; reopening the log recovers from what is on disk.
   */
  fail(err: unknown, pending?: PendingFlush): void {
    this.failure ??= new TracklaneError(
      'E_NOT_READY',
      `partition ${this.topic}/${this.index} failed to write (${(err as Error).message}); reopen the log`,
      { cause: err },
    );
    pending?.group.reject(this.failure);
    if (this.group !== null) {
      this.group.reject(this.failure);
      this.group = null;
      this.queue = [];
      this.queueMeta = [];
      this.queueBytes = 0;
    }
  }

  /** fdatasyncs the active segment if it holds commit-log-only bytes (older segments were synced at roll). */
  async syncActive(): Promise<void> {
    const active = this.segments[this.segments.length - 1]!;
    if (active.needsSync) await active.sync();
  }

  /** Writes `pending` and fdatasyncs it in the segment itself (rolling as needed), making it visible. */
  async writeDurably(pending: PendingFlush): Promise<void> {
    const { buffers, meta, bytes } = pending;
    const segmentBytes = this.settings.segmentBytes;
    let active = this.segments[this.segments.length - 1]!;
    if (this.fitsActiveSegment(pending)) {
      await active.write(buffers, bytes, active.size);
      // Also covers any earlier commit-log-only bytes of this segment.
      await active.sync();
      indexBatches(active, buffers, meta, 0, buffers.length, active.size);
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
      indexBatches(active, buffers, meta, i, j, active.size);
      this.settings.onDurable();
      i = j;
    }
  }

  /**
   * Restores the records of a commit-log entry that are beyond this partition's end (lost from the segment's
   * unsynced tail) by appending them to the active segment; returns whether it wrote anything. Entries already
   * covered are skipped; one that would leave a gap means records were lost: E_CORRUPT_RECORD naming `file`.
   * The caller fdatasyncs the segment (`syncActive`) before deleting the commit log.
   */
  async replay(entry: CommitLogEntry, file: string): Promise<boolean> {
    const end = this.endOffset;
    if (entry.baseOffset + entry.recordCount <= end) return false;
    const data = entry.data;
    // The segment was truncated at a batch boundary (Segment.load), so some batch of the run starts at `end`.
    let at = 0;
    let header = readBatchHeader(data, 0, data.length)!;
    while (header.baseOffset + header.recordCount <= end) {
      at += header.batchLength;
      header = readBatchHeader(data, at, data.length - at)!;
    }
    if (header.baseOffset !== end) {
      throw new TracklaneError(
        'E_CORRUPT_RECORD',
        `commit log ${file} holds ${this.topic}/${this.index} from offset ${header.baseOffset}, but the partition ` +
          `ends at ${end}: the records in between are lost; restore the log directory from a backup`,
      );
    }
    const active = this.segments[this.segments.length - 1]!;
    const run = data.subarray(at);
    let pos = active.size;
    await active.write([run], run.length, pos);
    active.markUnsynced();
    while (at < data.length) {
      header = readBatchHeader(data, at, data.length - at)!;
      active.addToIndex(header.baseOffset, header.recordCount, pos, header.batchLength, header.maxTimestamp);
      pos += header.batchLength;
      at += header.batchLength;
    }
    this.nextOffset = active.endOffset;
    return true;
  }

  /**
   * Starts a new segment at `baseOffset`. The current one is fdatasynced first if it holds commit-log-only
   * bytes: only the active segment may ever be torn, which is what recovery (Segment.load) assumes.
   */
  private async roll(baseOffset: number): Promise<Segment> {
    const previous = this.segments[this.segments.length - 1]!;
    if (previous.needsSync) await previous.sync();
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

  /** Call after the flush coordinator drained: later appends fail with E_LOG_CLOSED. */
  async close(): Promise<void> {
    this.failure ??= new TracklaneError('E_LOG_CLOSED', 'the log is closed');
    for (const s of this.segments) await s.close();
  }
}

export type { LogRecord };
