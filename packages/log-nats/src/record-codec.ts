import { TracklaneError } from '@tracklane/core';
import type { Headers, LogRecord, RecordInput } from '@tracklane/log';

/**
 * A record travels as the whole NATS payload, not as NATS headers: keys may be binary and header names are
 * free-form, neither of which survives NATS header rules. Layout (big-endian):
 *
 *   u8 version=1 | f64 timestamp | i32 keyLength (-1: null) | key | u32 headersLength | headers JSON | value
 *
 * One record per message keeps stream sequence = offset + 1 (see names.ts); the only NATS header used is
 * Nats-Msg-Id, for dedup.
 */
const VERSION = 1;
const FIXED = 1 + 8 + 4 + 4;

export function encodeRecord(record: RecordInput, now: number): Uint8Array {
  // Strings are measured, then written straight into the one output buffer: no intermediate byte copies
  // on the append hot path.
  const key = record.key;
  let keyText: string | null = null;
  let keyBytes: Uint8Array | null = null;
  let keyLength = -1;
  if (typeof key === 'string') {
    keyText = key;
    keyLength = Buffer.byteLength(key);
  } else if (key !== null && key !== undefined) {
    keyBytes = key;
    keyLength = key.length;
  }
  const headers = record.headers;
  let headerText: string | null = null;
  if (headers) {
    for (const _ in headers) {
      headerText = JSON.stringify(headers);
      break;
    }
  }
  const headerLength = headerText === null ? 0 : Buffer.byteLength(headerText);
  const value = record.value;
  const out = Buffer.allocUnsafe(FIXED + Math.max(keyLength, 0) + headerLength + value.length);
  let at = out.writeUInt8(VERSION, 0);
  at = out.writeDoubleBE(record.timestamp ?? now, at);
  at = out.writeInt32BE(keyLength, at);
  if (keyText !== null) at += out.write(keyText, at, keyLength, 'utf8');
  else if (keyBytes !== null) {
    out.set(keyBytes, at);
    at += keyLength;
  }
  at = out.writeUInt32BE(headerLength, at);
  if (headerText !== null) at += out.write(headerText, at, headerLength, 'utf8');
  out.set(value, at);
  return out;
}

export function decodeRecord(topic: string, partition: number, offset: number, data: Uint8Array): LogRecord {
  // The NATS parser hands out views into its socket Buffers: wrap only when given a plain Uint8Array.
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < FIXED || buf[0] !== VERSION) {
    throw new TracklaneError(
      'E_CORRUPT_RECORD',
      `${topic}/${partition}@${offset} is not a Tracklane record (was it published by another client?)`,
    );
  }
  const timestamp = buf.readDoubleBE(1);
  const keyLength = buf.readInt32BE(9);
  let at = 13;
  let key: Buffer | null = null;
  if (keyLength >= 0) {
    key = buf.subarray(at, at + keyLength);
    at += keyLength;
  }
  const headerLength = buf.readUInt32BE(at);
  at += 4;
  const headers: Headers = headerLength === 0 ? {} : JSON.parse(buf.toString('utf8', at, at + headerLength));
  at += headerLength;
  return { topic, partition, offset, key, value: buf.subarray(at), headers, timestamp };
}
