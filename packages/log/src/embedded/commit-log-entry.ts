import { crc32 } from 'node:zlib';
import { BATCH_HEADER_SIZE, readBatchHeader, verifyBatch } from './record-batch.ts';

/*
 * One commit-log entry: the run of record batches one partition wrote in one multi-partition flush cycle
 * (commit-log.ts, flush-coordinator.ts). All integers are big-endian.
 *
 *   offset size  field
 *   0      4     magic 0x544c5741 ("TLWA")
 *   4      4     crc32 (zlib polynomial, as record batches use) of the header bytes [8, 32 + topicLength)
 *   8      4     dataLength: bytes of the batches after the header
 *   12     2     topicLength
 *   14     1     version (1)
 *   15     1     reserved (0)
 *   16     4     partition
 *   20     8     baseOffset (u64 as hi u32, lo u32)
 *   28     4     recordCount
 *   32           topic (utf-8), then dataLength bytes: the record batches exactly as written to the segment
 *
 * The header CRC does not cover the batches: each batch carries its own CRC (record-batch.ts), and an entry is
 * valid only if its header CRC and every batch CRC check out, the batches are contiguous from baseOffset and
 * hold recordCount records. So the batch bytes are hashed once, when encoded, not again per cycle.
 */

export const ENTRY_MAGIC = 0x544c5741;
const ENTRY_VERSION = 1;
const ENTRY_FIXED_SIZE = 32;
const TWO_32 = 2 ** 32;

export interface CommitLogEntry {
  topic: string;
  partition: number;
  baseOffset: number;
  recordCount: number;
  /** The record batches (a view into the buffer read from the file). */
  data: Buffer;
  /** Bytes of the whole entry, header included. */
  length: number;
}

/** The header of an entry whose `dataLength` bytes of batches follow it (written with the same writev). */
export function encodeEntryHeader(
  topic: Buffer,
  partition: number,
  baseOffset: number,
  recordCount: number,
  dataLength: number,
): Buffer {
  const header = Buffer.allocUnsafe(ENTRY_FIXED_SIZE + topic.length);
  header.writeUInt32BE(ENTRY_MAGIC, 0);
  header.writeUInt32BE(dataLength, 8);
  header.writeUInt16BE(topic.length, 12);
  header.writeUInt8(ENTRY_VERSION, 14);
  header.writeUInt8(0, 15);
  header.writeUInt32BE(partition, 16);
  header.writeUInt32BE(Math.floor(baseOffset / TWO_32), 20);
  header.writeUInt32BE(baseOffset >>> 0, 24);
  header.writeUInt32BE(recordCount, 28);
  topic.copy(header, ENTRY_FIXED_SIZE);
  header.writeUInt32BE(crc32(header.subarray(8)), 4);
  return header;
}

/**
 * Parses and fully verifies the entry at `pos`. Returns null when the bytes there are not a whole valid entry
 * (torn, zeroed, or corrupt): replay (commit-log-replay.ts) decides whether that ends the file or is an error.
 */
export function readEntry(buf: Buffer, pos: number): CommitLogEntry | null {
  const available = buf.length - pos;
  if (available < ENTRY_FIXED_SIZE || buf.readUInt32BE(pos) !== ENTRY_MAGIC) return null;
  const topicLength = buf.readUInt16BE(pos + 12);
  const headerLength = ENTRY_FIXED_SIZE + topicLength;
  if (available < headerLength) return null;
  if (crc32(buf.subarray(pos + 8, pos + headerLength)) !== buf.readUInt32BE(pos + 4)) return null;
  if (buf.readUInt8(pos + 14) !== ENTRY_VERSION) return null;
  const dataLength = buf.readUInt32BE(pos + 8);
  if (available < headerLength + dataLength) return null;
  const baseOffset = buf.readUInt32BE(pos + 20) * TWO_32 + buf.readUInt32BE(pos + 24);
  const recordCount = buf.readUInt32BE(pos + 28);
  const data = buf.subarray(pos + headerLength, pos + headerLength + dataLength);
  let at = 0;
  let expected = baseOffset;
  while (at < data.length) {
    const header = readBatchHeader(data, at, data.length - at);
    if (header === null || header.baseOffset !== expected || !verifyBatch(data, at, header)) return null;
    expected += header.recordCount;
    at += header.batchLength;
  }
  if (expected - baseOffset !== recordCount || dataLength < BATCH_HEADER_SIZE) return null;
  return {
    topic: buf.toString('utf8', pos + ENTRY_FIXED_SIZE, pos + headerLength),
    partition: buf.readUInt32BE(pos + 16),
    baseOffset,
    recordCount,
    data,
    length: headerLength + dataLength,
  };
}
