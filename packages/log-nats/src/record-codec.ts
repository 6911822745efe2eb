import { TracklaneError } from '@tracklane/core';
import type { Headers, RecordInput } from '@tracklane/log';
import { NatsRecord } from './nats-record.ts';

/**
 * A record travels as the whole NATS payload, not as NATS headers: keys may be binary and header names are
 * free-form, neither of which survives NATS header rules. Layout (big-endian):
 *
 *   u8 version | f64 timestamp | i32 keyLength (-1: null) | key | u32 headersLength | headers | value
 *
 * where `headers` is, in version 2 (written now), per header: u16 nameLength, name, u32 valueLength, value
 * (UTF-8), the embedded log's header encoding; and in version 1 (written before), one JSON object. Both are
 * read. Version 2 because decoding is on every consumer's path and a JSON.parse per record cost it more than
 * everything else the log adds (JSON.parse internalizes the short strings ids are made of); a reader older
 * than version 2 refuses version-2 records as E_CORRUPT_RECORD, so upgrade consumers before producers.
 *
 * One record per message keeps stream sequence = offset + 1 (see names.ts); the only NATS header used is
 * Nats-Msg-Id, for dedup.
 */
const VERSION_JSON_HEADERS = 1;
const VERSION = 2;
const FIXED = 1 + 8 + 4 + 4;
const MAX_NAME_BYTES = 0xffff;

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
  let headerLength = 0;
  if (headers) {
    for (const name in headers)
      headerLength += 6 + Buffer.byteLength(name) + Buffer.byteLength(headers[name]!);
  }
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
  if (headers && headerLength > 0) {
    for (const name in headers) {
      const nameLength = out.write(name, at + 2, 'utf8');
      if (nameLength > MAX_NAME_BYTES) {
        throw new TracklaneError(
          'E_BAD_ARGUMENT',
          `header name "${name.slice(0, 40)}..." is ${nameLength} bytes; header names are limited to ${MAX_NAME_BYTES}`,
        );
      }
      out.writeUInt16BE(nameLength, at);
      at += 2 + nameLength;
      const valueLength = out.write(headers[name]!, at + 4, 'utf8');
      out.writeUInt32BE(valueLength, at);
      at += 4 + valueLength;
    }
  }
  out.set(value, at);
  return out;
}

function corrupt(topic: string, partition: number, offset: number, why: string): TracklaneError {
  return new TracklaneError(
    'E_CORRUPT_RECORD',
    `${topic}/${partition}@${offset} is not a Tracklane record (${why}; was it published by another client, or by a newer Tracklane?)`,
  );
}

/**
 * Checks a message's framing and returns the record in it; the key and the headers are read from the
 * message when first asked for (see NatsRecord), but every length is checked here, so a corrupt record is
 * refused by the poll or read that meets it, not by whoever reads its headers later.
 */
export function decodeRecord(topic: string, partition: number, offset: number, data: Uint8Array): NatsRecord {
  // The NATS parser hands out views into its socket Buffers: wrap only when given a plain Uint8Array.
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const version = buf[0];
  if (buf.length < FIXED || (version !== VERSION && version !== VERSION_JSON_HEADERS)) {
    throw corrupt(topic, partition, offset, `unknown version ${version}`);
  }
  const timestamp = buf.readDoubleBE(1);
  const keyLength = buf.readInt32BE(9);
  let at = 13;
  const keyStart = keyLength >= 0 ? at : -1;
  if (keyLength >= 0) {
    if (at + keyLength + 4 > buf.length) throw corrupt(topic, partition, offset, 'key runs past the end');
    at += keyLength;
  }
  const keyEnd = at;
  const headerLength = buf.readUInt32BE(at);
  at += 4;
  const start = at;
  const end = at + headerLength;
  if (end > buf.length) throw corrupt(topic, partition, offset, 'headers run past the end');
  let headers: Headers | undefined;
  if (version === VERSION_JSON_HEADERS)
    headers = headerLength > 0 ? JSON.parse(buf.toString('utf8', at, end)) : {};
  else {
    while (at < end) {
      if (at + 2 > end) throw corrupt(topic, partition, offset, 'a header runs past the headers');
      const nameEnd = at + 2 + buf.readUInt16BE(at);
      if (nameEnd + 4 > end) throw corrupt(topic, partition, offset, 'a header runs past the headers');
      const valueEnd = nameEnd + 4 + buf.readUInt32BE(nameEnd);
      if (valueEnd > end) throw corrupt(topic, partition, offset, 'a header runs past the headers');
      at = valueEnd;
    }
  }
  return new NatsRecord(
    topic,
    partition,
    offset,
    timestamp,
    buf.subarray(end),
    buf,
    keyStart,
    keyEnd,
    start,
    end,
    headers,
  );
}
