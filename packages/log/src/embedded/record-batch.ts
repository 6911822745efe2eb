import { crc32 } from 'node:zlib';
import { TracklaneError } from '@tracklane/core';
import type { Headers, LogRecord, RecordInput } from '../log.ts';
import type { BufferPool } from './buffer-pool.ts';

/*
 * On-disk record batch. One `append` call becomes one batch per partition; a segment file is nothing but
 * batches back to back. All integers are big-endian.
 *
 *   offset size  field
 *   0      4     magic 0x544c4f47 ("TLOG")
 *   4      1     version (1)
 *   5      1     flags (0; reserved)
 *   6      2     reserved (0)
 *   8      4     batchLength: bytes of the whole batch, header included
 *   12     4     crc32 (zlib polynomial) of bytes [16, batchLength): everything after this field, so the
 *                base offset, count and timestamps are covered as well as the records
 *   16     8     baseOffset (u64 as hi u32, lo u32): offset of the first record; record i has baseOffset + i
 *   24     4     recordCount (>= 1)
 *   28     8     firstTimestamp (f64; ms since epoch, integral)
 *   36     8     maxTimestamp (f64)
 *   44           records, back to back:
 *                  f64 timestamp
 *                  i32 keyLength (-1: null key), key bytes
 *                  u32 valueLength, value bytes
 *                  u16 headerCount, then per header: u16 nameLength, name (utf-8), u32 valueLength, value (utf-8)
 *
 * Timestamps are f64 because every ms-since-epoch integer is exact in a double and DataView-style f64 writes are
 * cheaper than BigInt conversions on the hot path. A batch is valid only if magic, version, length bounds and
 * the CRC all check out; recovery (segment.ts) truncates a segment at its first invalid batch.
 */

export const BATCH_MAGIC = 0x544c4f47;
export const BATCH_VERSION = 1;
export const BATCH_HEADER_SIZE = 44;
const CRC_START = 16;
const TWO_32 = 2 ** 32;

export interface BatchHeader {
  batchLength: number;
  crc: number;
  baseOffset: number;
  recordCount: number;
  firstTimestamp: number;
  maxTimestamp: number;
}

/** Metadata the writer needs about an encoded batch without decoding it again. */
export interface EncodedBatch {
  buffer: Buffer;
  recordCount: number;
  maxTimestamp: number;
}

function keyLength(key: RecordInput['key']): number {
  if (key === null || key === undefined) return 0;
  return typeof key === 'string' ? Buffer.byteLength(key) : key.byteLength;
}

function headersLength(headers: Headers | undefined): number {
  let size = 2;
  if (headers === undefined) return size;
  for (const name in headers) {
    size += 6 + Buffer.byteLength(name) + Buffer.byteLength(headers[name]!);
  }
  return size;
}

/**
 * Encodes `records` into one buffer (one allocation, one pass to size, one pass to write) with the CRC set.
 * Throws E_RECORD_TOO_LARGE / E_BAD_ARGUMENT before anything is written, so a failed call has no effect.
 */
export function encodeBatch(
  records: readonly RecordInput[],
  baseOffset: number,
  now: number,
  maxRecordBytes: number,
  pool?: BufferPool,
): EncodedBatch {
  const count = records.length;
  let size = BATCH_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    const r = records[i]!;
    if (!(r.value instanceof Uint8Array)) {
      throw new TracklaneError('E_BAD_ARGUMENT', `record ${i}: value must be a Uint8Array (or Buffer)`);
    }
    const recordSize = 18 + keyLength(r.key) + r.value.byteLength + headersLength(r.headers);
    if (recordSize > maxRecordBytes) {
      throw new TracklaneError(
        'E_RECORD_TOO_LARGE',
        `record ${i} is ${recordSize} bytes encoded; the limit is ${maxRecordBytes} (option maxRecordBytes)`,
      );
    }
    size += recordSize;
  }
  const buf = pool ? pool.take(size) : Buffer.allocUnsafe(size);
  // DataView accessors compile to plain loads/stores; Buffer's write*BE helpers are measurably slower here.
  const view = new DataView(buf.buffer, buf.byteOffset, size);
  let pos = BATCH_HEADER_SIZE;
  let firstTimestamp = now;
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    const r = records[i]!;
    const ts = r.timestamp ?? now;
    if (ts !== now && !Number.isSafeInteger(ts)) {
      throw new TracklaneError(
        'E_BAD_ARGUMENT',
        `record ${i}: timestamp must be an integer (ms since epoch)`,
      );
    }
    if (i === 0) firstTimestamp = ts;
    if (ts > maxTimestamp) maxTimestamp = ts;
    view.setFloat64(pos, ts);
    pos += 8;
    const key = r.key;
    if (key === null || key === undefined) {
      view.setInt32(pos, -1);
      pos += 4;
    } else if (typeof key === 'string') {
      const n = buf.write(key, pos + 4);
      view.setInt32(pos, n);
      pos += 4 + n;
    } else {
      view.setInt32(pos, key.byteLength);
      buf.set(key, pos + 4);
      pos += 4 + key.byteLength;
    }
    const value = r.value;
    view.setUint32(pos, value.byteLength);
    buf.set(value, pos + 4);
    pos += 4 + value.byteLength;
    const headers = r.headers;
    if (headers === undefined) {
      view.setUint16(pos, 0);
      pos += 2;
    } else {
      const countPos = pos;
      pos += 2;
      let n = 0;
      for (const name in headers) {
        const nameLen = buf.write(name, pos + 2);
        view.setUint16(pos, nameLen);
        pos += 2 + nameLen;
        const valueLen = buf.write(headers[name]!, pos + 4);
        view.setUint32(pos, valueLen);
        pos += 4 + valueLen;
        n++;
      }
      if (n > 0xffff) throw new TracklaneError('E_BAD_ARGUMENT', `record ${i}: more than 65535 headers`);
      view.setUint16(countPos, n);
    }
  }
  buf.writeUInt32BE(BATCH_MAGIC, 0);
  buf.writeUInt8(BATCH_VERSION, 4);
  buf.writeUInt8(0, 5);
  buf.writeUInt16BE(0, 6);
  buf.writeUInt32BE(size, 8);
  buf.writeUInt32BE(Math.floor(baseOffset / TWO_32), 16);
  buf.writeUInt32BE(baseOffset >>> 0, 20);
  buf.writeUInt32BE(count, 24);
  buf.writeDoubleBE(firstTimestamp, 28);
  buf.writeDoubleBE(maxTimestamp, 36);
  buf.writeUInt32BE(crc32(buf.subarray(CRC_START)), 12);
  return { buffer: buf, recordCount: count, maxTimestamp };
}

/**
 * Parses and sanity-checks a header at `pos`. Returns null when the bytes cannot be a batch header (bad magic,
 * version, or a length that does not fit in `available` bytes): the caller decides whether that is a torn tail
 * or corruption. The CRC is not checked here; see `verifyBatch`.
 */
export function readBatchHeader(buf: Buffer, pos: number, available: number): BatchHeader | null {
  if (available < BATCH_HEADER_SIZE) return null;
  if (buf.readUInt32BE(pos) !== BATCH_MAGIC || buf.readUInt8(pos + 4) !== BATCH_VERSION) return null;
  const batchLength = buf.readUInt32BE(pos + 8);
  if (batchLength < BATCH_HEADER_SIZE || batchLength > available) return null;
  const recordCount = buf.readUInt32BE(pos + 24);
  if (recordCount === 0) return null;
  return {
    batchLength,
    crc: buf.readUInt32BE(pos + 12),
    baseOffset: buf.readUInt32BE(pos + 16) * TWO_32 + buf.readUInt32BE(pos + 20),
    recordCount,
    firstTimestamp: buf.readDoubleBE(pos + 28),
    maxTimestamp: buf.readDoubleBE(pos + 36),
  };
}

/** True when the batch occupying `buf[pos, pos + header.batchLength)` matches its CRC. */
export function verifyBatch(buf: Buffer, pos: number, header: BatchHeader): boolean {
  return crc32(buf.subarray(pos + CRC_START, pos + header.batchLength)) === header.crc;
}

/** Reads state shared across the batches and segments of one read call. */
export interface ReadBudget {
  out: LogRecord[];
  maxRecords: number;
  /** Key + value bytes still allowed; the first record is always returned even if larger. */
  bytesLeft: number;
}

export function budgetFull(budget: ReadBudget): boolean {
  return budget.out.length >= budget.maxRecords || budget.bytesLeft <= 0;
}

function corrupt(what: string): TracklaneError {
  return new TracklaneError('E_CORRUPT_RECORD', `corrupt record batch: ${what}`);
}

/**
 * Decodes the records of a CRC-verified batch with offset >= `fromOffset` into `budget.out`. Keys and values are
 * views into `buf` (no copy). Returns false if the budget filled before the batch was exhausted.
 */
export function decodeBatch(
  buf: Buffer,
  pos: number,
  header: BatchHeader,
  topic: string,
  partition: number,
  fromOffset: number,
  budget: ReadBudget,
): boolean {
  const end = pos + header.batchLength;
  let p = pos + BATCH_HEADER_SIZE;
  const out = budget.out;
  for (let i = 0; i < header.recordCount; i++) {
    if (p + 14 > end) throw corrupt('record runs past the batch end');
    const timestamp = buf.readDoubleBE(p);
    const keyLen = buf.readInt32BE(p + 8);
    p += 12;
    let key: Buffer | null = null;
    if (keyLen >= 0) {
      if (p + keyLen > end) throw corrupt('key runs past the batch end');
      key = buf.subarray(p, p + keyLen);
      p += keyLen;
    }
    const valueLen = buf.readUInt32BE(p);
    p += 4;
    if (p + valueLen + 2 > end) throw corrupt('value runs past the batch end');
    const value = buf.subarray(p, p + valueLen);
    p += valueLen;
    const headerCount = buf.readUInt16BE(p);
    p += 2;
    const headers: Headers = {};
    for (let h = 0; h < headerCount; h++) {
      if (p + 2 > end) throw corrupt('header runs past the batch end');
      const nameLen = buf.readUInt16BE(p);
      p += 2;
      if (p + nameLen + 4 > end) throw corrupt('header runs past the batch end');
      const name = buf.toString('utf8', p, p + nameLen);
      p += nameLen;
      const vLen = buf.readUInt32BE(p);
      p += 4;
      if (p + vLen > end) throw corrupt('header runs past the batch end');
      headers[name] = buf.toString('utf8', p, p + vLen);
      p += vLen;
    }
    const offset = header.baseOffset + i;
    if (offset < fromOffset) continue;
    const bytes = valueLen + Math.max(keyLen, 0);
    if (out.length > 0 && bytes > budget.bytesLeft) {
      budget.bytesLeft = 0;
      return false;
    }
    out.push({ topic, partition, offset, key, value, headers, timestamp });
    budget.bytesLeft -= bytes;
    if (budgetFull(budget)) return i === header.recordCount - 1;
  }
  return true;
}

/** Finds the first record with timestamp >= `timestamp` in a verified batch, or -1. */
export function findTimestampInBatch(
  buf: Buffer,
  pos: number,
  header: BatchHeader,
  timestamp: number,
): number {
  const budget: ReadBudget = {
    out: [],
    maxRecords: Number.POSITIVE_INFINITY,
    bytesLeft: Number.POSITIVE_INFINITY,
  };
  decodeBatch(buf, pos, header, '', 0, 0, budget);
  for (const r of budget.out) if (r.timestamp >= timestamp) return r.offset;
  return -1;
}
