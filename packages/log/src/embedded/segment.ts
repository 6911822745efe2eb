import { writevSync } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TracklaneError } from '@tracklane/core';
import { fsyncDir } from './fs-util.ts';
import {
  BATCH_HEADER_SIZE,
  type BatchHeader,
  budgetFull,
  decodeBatch,
  findTimestampInBatch,
  type ReadBudget,
  readBatchHeader,
  verifyBatch,
} from './record-batch.ts';

/*
 * A segment is one file of back-to-back record batches (format in record-batch.ts), named after the offset of
 * its first record: `<20-digit base offset>.seg`. Only the last segment of a partition (the active one) is
 * written to; a segment is fsynced before the partition rolls past it, which is why recovery only needs to
 * CRC-check the active segment and can trust the headers of older ones (their CRCs are checked lazily on read).
 *
 * `size` and `endOffset` only ever cover durable batches: fdatasynced in this file, or in the commit log
 * (commit-log.ts) from which replay restores them. The writer advances them after that fsync, so readers never
 * see a record that a crash could take back.
 */

const SCAN_CHUNK = 1 << 20;
const READ_CHUNK = 256 << 10;
const SYNC_WRITE_MAX = 1 << 20;

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.seg`;
}

export function parseSegmentFileName(name: string): number | null {
  const m = /^(\d{20})\.seg$/.exec(name);
  return m ? Number(m[1]) : null;
}

function corrupt(path: string, position: number, what: string): TracklaneError {
  return new TracklaneError(
    'E_CORRUPT_RECORD',
    `${what} in ${path} at byte ${position}; the data there cannot be returned`,
  );
}

/** Reads a file through a window, so a sequential pass costs one syscall per chunk rather than per batch. */
class ChunkReader {
  private chunk: Buffer = Buffer.alloc(0);
  private chunkStart = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly limit: number,
    private readonly chunkSize: number,
  ) {}

  /** Returns a buffer and the position of byte `pos` within it, with at least min(len, limit - pos) bytes. */
  async get(pos: number, len: number): Promise<{ buf: Buffer; at: number; available: number }> {
    const want = Math.min(len, this.limit - pos);
    const chunkEnd = this.chunkStart + this.chunk.length;
    if (pos < this.chunkStart || pos + want > chunkEnd) {
      const size = Math.min(Math.max(len, this.chunkSize), this.limit - pos);
      const buf = Buffer.allocUnsafeSlow(size);
      let filled = 0;
      while (filled < size) {
        const { bytesRead } = await this.fh.read(buf, filled, size - filled, pos + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      this.chunk = filled === size ? buf : buf.subarray(0, filled);
      this.chunkStart = pos;
    }
    const at = pos - this.chunkStart;
    return { buf: this.chunk, at, available: this.chunk.length - at };
  }
}

export class Segment {
  readonly baseOffset: number;
  readonly path: string;
  /** Durable bytes. */
  size = 0;
  /** Offset after the last durable record in this segment. */
  endOffset: number;
  /** Set when an old segment's header scan hit garbage: bytes past `size` exist but are unreadable. */
  damaged = false;
  deleted = false;
  private fh: FileHandle | null;
  private readers = 0;
  private closeWanted = false;
  private opening: Promise<FileHandle> | null = null;
  /*
   * Sparse index: one entry per `indexInterval` bytes (always one for the first batch). idxMaxTs holds the
   * running maximum timestamp up to and including the batches of that entry, so it is non-decreasing and
   * can be binary-searched for offsetForTimestamp even when timestamps arrive out of order.
   */
  private readonly idxOffsets: number[] = [];
  private readonly idxPositions: number[] = [];
  private readonly idxMaxTs: number[] = [];
  private readonly indexInterval: number;
  /** Counters behind `needsSync`: bumped per commit-log-only write, and to the value a sync covered. */
  private writtenGen = 0;
  private syncedGen = 0;

  private constructor(path: string, baseOffset: number, fh: FileHandle | null, indexInterval: number) {
    this.path = path;
    this.baseOffset = baseOffset;
    this.endOffset = baseOffset;
    this.fh = fh;
    this.indexInterval = indexInterval;
  }

  get maxTimestamp(): number {
    const n = this.idxMaxTs.length;
    return n === 0 ? Number.NEGATIVE_INFINITY : this.idxMaxTs[n - 1]!;
  }

  /** Creates an empty segment file and makes its directory entry durable. */
  static async create(dir: string, baseOffset: number, indexInterval: number): Promise<Segment> {
    const path = join(dir, segmentFileName(baseOffset));
    const fh = await open(path, 'w+');
    await fsyncDir(dir);
    return new Segment(path, baseOffset, fh, indexInterval);
  }

  /**
   * Opens an existing segment and rebuilds its index. With `verify` (the active segment) every batch's CRC is
   * checked too and the file is truncated at the first bad batch: that tail was never acknowledged, because an
   * append resolves only after the fdatasync that covers it. Without `verify`, a bad header marks the segment
   * damaged instead: it was fsynced before the roll, so damage there is corruption, not a torn write, and
   * truncating would silently drop acknowledged records.
   */
  static async load(
    dir: string,
    baseOffset: number,
    options: { verify: boolean; keepOpen: boolean; indexInterval: number },
  ): Promise<{ segment: Segment; truncatedBytes: number }> {
    const path = join(dir, segmentFileName(baseOffset));
    const fh = await open(path, 'r+');
    const segment = new Segment(path, baseOffset, fh, options.indexInterval);
    let truncatedBytes = 0;
    try {
      const fileSize = (await fh.stat()).size;
      const reader = new ChunkReader(fh, fileSize, SCAN_CHUNK);
      let pos = 0;
      let expected = baseOffset;
      let bad = false;
      while (pos < fileSize) {
        let { buf, at, available } = await reader.get(pos, BATCH_HEADER_SIZE);
        const header = readBatchHeader(buf, at, fileSize - pos);
        if (header === null || header.baseOffset !== expected) {
          bad = true;
          break;
        }
        if (options.verify) {
          ({ buf, at, available } = await reader.get(pos, header.batchLength));
          if (available < header.batchLength || !verifyBatch(buf, at, header)) {
            bad = true;
            break;
          }
        }
        segment.addToIndex(
          header.baseOffset,
          header.recordCount,
          pos,
          header.batchLength,
          header.maxTimestamp,
        );
        expected += header.recordCount;
        pos += header.batchLength;
      }
      if (bad) {
        if (options.verify) {
          truncatedBytes = fileSize - pos;
          await fh.truncate(pos);
          await fh.datasync();
        } else {
          segment.damaged = true;
        }
      }
    } catch (err) {
      await fh.close();
      throw err;
    }
    if (!options.keepOpen) {
      await fh.close();
      segment.fh = null;
    }
    return { segment, truncatedBytes };
  }

  /** Records a durable batch: advances size/endOffset and the sparse index. */
  addToIndex(baseOffset: number, recordCount: number, position: number, length: number, maxTs: number): void {
    const n = this.idxOffsets.length;
    if (n === 0 || position - this.idxPositions[n - 1]! >= this.indexInterval) {
      const prev = n === 0 ? Number.NEGATIVE_INFINITY : this.idxMaxTs[n - 1]!;
      this.idxOffsets.push(baseOffset);
      this.idxPositions.push(position);
      this.idxMaxTs.push(Math.max(maxTs, prev));
    } else if (maxTs > this.idxMaxTs[n - 1]!) {
      this.idxMaxTs[n - 1] = maxTs;
    }
    this.size = position + length;
    this.endOffset = baseOffset + recordCount;
  }

  async handle(): Promise<FileHandle> {
    if (this.fh !== null) return this.fh;
    if (this.deleted) throw new TracklaneError('E_OFFSET_OUT_OF_RANGE', `segment ${this.path} was deleted`);
    // Only the active segment is written, and its handle is never closed while it is active.
    this.opening ??= open(this.path, 'r').then((fh) => {
      this.fh = fh;
      return fh;
    });
    return this.opening;
  }

  /** Writes already-encoded batches at the end of the file; they are not durable (or visible) until `sync`. */
  async write(buffers: Buffer[], bytes: number, position: number): Promise<void> {
    const fh = await this.handle();
    // Small flushes are copied into the page cache synchronously: that takes microseconds, less than the
    // thread-pool round trip an async write costs, and the round trip sits on every append's critical path.
    // Large ones go async so the event loop never stalls behind a long write.
    const bytesWritten =
      bytes <= SYNC_WRITE_MAX
        ? writevSync(fh.fd, buffers, position)
        : (await fh.writev(buffers, position)).bytesWritten;
    if (bytesWritten !== bytes) {
      throw new Error(`short write to ${this.path}: ${bytesWritten} of ${bytes} bytes`);
    }
  }

  /**
   * Marks bytes just written (not yet visible) as durable only through the commit log: this segment must be
   * fdatasynced before the partition rolls past it or a checkpoint deletes the commit-log files holding them.
   */
  markUnsynced(): void {
    this.writtenGen++;
  }

  /** True while bytes marked by `markUnsynced` have not been covered by a later `sync`. */
  get needsSync(): boolean {
    return this.writtenGen > this.syncedGen;
  }

  /** fdatasyncs the file; this covers every byte written before the call, commit-log-only ones included. */
  async sync(): Promise<void> {
    const gen = this.writtenGen;
    // Pinned like a read: a checkpoint may sync a segment that a roll closes meanwhile.
    await this.withHandle((fh) => fh.datasync());
    if (gen > this.syncedGen) this.syncedGen = gen;
  }

  /** Position of the last index entry whose batch starts at or before `offset`. */
  private positionFor(offset: number): number {
    const offsets = this.idxOffsets;
    let lo = 0;
    let hi = offsets.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (offsets[mid]! <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return offsets.length === 0 ? 0 : this.idxPositions[found]!;
  }

  /**
   * Appends records with offset >= `fromOffset` to the budget. Every batch returned is CRC-verified first; a
   * mismatch throws E_CORRUPT_RECORD rather than returning garbage.
   */
  async read(topic: string, partition: number, fromOffset: number, budget: ReadBudget): Promise<void> {
    const limit = this.size;
    if (limit === 0 || fromOffset >= this.endOffset) {
      this.throwIfDamaged(budget);
      return;
    }
    await this.withHandle((fh) => this.readFrom(fh, limit, topic, partition, fromOffset, budget));
  }

  private async readFrom(
    fh: FileHandle,
    limit: number,
    topic: string,
    partition: number,
    fromOffset: number,
    budget: ReadBudget,
  ): Promise<void> {
    // A fixed window rather than one sized to the byte budget: a poll that wants 500 small records must not
    // read megabytes. Batches larger than the window are read whole.
    const reader = new ChunkReader(fh, limit, READ_CHUNK);
    let pos = this.positionFor(fromOffset);
    while (pos < limit) {
      let { buf, at } = await reader.get(pos, BATCH_HEADER_SIZE);
      const header = readBatchHeader(buf, at, limit - pos);
      if (header === null) throw corrupt(this.path, pos, 'invalid batch header');
      if (header.baseOffset + header.recordCount > fromOffset) {
        let available: number;
        ({ buf, at, available } = await reader.get(pos, header.batchLength));
        if (available < header.batchLength || !verifyBatch(buf, at, header)) {
          throw corrupt(this.path, pos, 'CRC mismatch');
        }
        decodeBatch(buf, at, header, topic, partition, fromOffset, budget);
        if (budgetFull(budget)) return;
      }
      pos += header.batchLength;
    }
    this.throwIfDamaged(budget);
  }

  private throwIfDamaged(budget: ReadBudget): void {
    if (this.damaged && budget.out.length === 0) {
      throw corrupt(this.path, this.size, 'unreadable batch header (segment damaged)');
    }
  }

  /** First offset in this segment with timestamp >= `timestamp`, or -1. */
  async offsetForTimestamp(timestamp: number): Promise<number> {
    const maxTs = this.idxMaxTs;
    let lo = 0;
    let hi = maxTs.length - 1;
    let first = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (maxTs[mid]! >= timestamp) {
        first = mid;
        hi = mid - 1;
      } else {
        lo = mid + 1;
      }
    }
    if (first === -1) return -1;
    const limit = this.size;
    const start = this.idxPositions[first]!;
    return this.withHandle((fh) => this.scanForTimestamp(fh, limit, start, timestamp));
  }

  private async scanForTimestamp(
    fh: FileHandle,
    limit: number,
    start: number,
    timestamp: number,
  ): Promise<number> {
    const reader = new ChunkReader(fh, limit, READ_CHUNK);
    let pos = start;
    while (pos < limit) {
      let { buf, at } = await reader.get(pos, BATCH_HEADER_SIZE);
      const header: BatchHeader | null = readBatchHeader(buf, at, limit - pos);
      if (header === null) throw corrupt(this.path, pos, 'invalid batch header');
      if (header.maxTimestamp >= timestamp) {
        let available: number;
        ({ buf, at, available } = await reader.get(pos, header.batchLength));
        if (available < header.batchLength || !verifyBatch(buf, at, header)) {
          throw corrupt(this.path, pos, 'CRC mismatch');
        }
        const found = findTimestampInBatch(buf, at, header, timestamp);
        if (found >= 0) return found;
      }
      pos += header.batchLength;
    }
    return -1;
  }

  /** Runs a multi-step read with the handle pinned, so a concurrent roll or deletion cannot close it midway. */
  private async withHandle<T>(fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    const fh = await this.handle();
    this.readers++;
    try {
      return await fn(fh);
    } finally {
      this.readers--;
      if (this.readers === 0 && this.closeWanted) await this.closeNow();
    }
  }

  /** Closes the file once no read is using it; a later read reopens it (unless deleted). */
  async close(): Promise<void> {
    if (this.readers > 0) {
      this.closeWanted = true;
      return;
    }
    await this.closeNow();
  }

  private async closeNow(): Promise<void> {
    const pending = this.opening;
    const fh = this.fh;
    this.fh = null;
    this.opening = null;
    this.closeWanted = false;
    if (fh) await fh.close();
    else if (pending) await (await pending).close();
  }

  async delete(): Promise<void> {
    this.deleted = true;
    await unlink(this.path);
    await this.close();
  }
}
