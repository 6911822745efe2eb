import type { Transferable } from 'node:worker_threads';
import type { Headers, LogRecord, RecordInput } from '@tracklane/log';

/**
 * Records in the shape they cross threads: every key and value copied once into one fresh ArrayBuffer and
 * the numbers into one Float64Array, both transferred (moved, not cloned), so a poll of thousands of
 * records costs one memcpy and no per-record structured clone. The receiver's keys and values are views
 * into that buffer. The log's own buffers are never transferred: they may be slices of pooled memory the
 * log keeps using.
 */
export interface PackedRecords {
  topics: string[];
  /** Per record: topic index, partition, offset, timestamp (NaN: unset), key kind, key bytes, value bytes. */
  meta: Float64Array;
  /** Null where a record has no headers (the common case, which then costs nothing to clone). */
  headers: Array<Headers | null>;
  bytes: ArrayBuffer;
}

const FIELDS = 7;
const KEY_NONE = 0;
const KEY_NULL = 1;
const KEY_STRING = 2;
const KEY_BYTES = 3;

export function transferList(packed: PackedRecords): Transferable[] {
  return [packed.meta.buffer as ArrayBuffer, packed.bytes];
}

interface Row {
  topic?: string;
  partition?: number;
  offset?: number;
  timestamp?: number | undefined;
  key?: string | Uint8Array | null | undefined;
  value: Uint8Array;
  headers?: Headers | undefined;
}

function pack(rows: readonly Row[]): PackedRecords {
  const n = rows.length;
  const meta = new Float64Array(n * FIELDS);
  const keys: Array<Uint8Array | null> = new Array(n);
  const headers: Array<Headers | null> = new Array(n);
  const topics: string[] = [];
  let size = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    const key = typeof r.key === 'string' ? Buffer.from(r.key, 'utf8') : (r.key ?? null);
    keys[i] = key;
    size += (key?.byteLength ?? 0) + r.value.byteLength;
    let t = 0;
    if (r.topic !== undefined) {
      t = topics.indexOf(r.topic);
      if (t < 0) t = topics.push(r.topic) - 1;
    }
    const o = i * FIELDS;
    meta[o] = t;
    meta[o + 1] = r.partition ?? 0;
    meta[o + 2] = r.offset ?? 0;
    meta[o + 3] = r.timestamp ?? Number.NaN;
    meta[o + 4] =
      r.key === undefined
        ? KEY_NONE
        : r.key === null
          ? KEY_NULL
          : typeof r.key === 'string'
            ? KEY_STRING
            : KEY_BYTES;
    meta[o + 5] = key?.byteLength ?? 0;
    meta[o + 6] = r.value.byteLength;
    headers[i] = r.headers === undefined || isEmpty(r.headers) ? null : r.headers;
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const key = keys[i];
    if (key != null) {
      bytes.set(key, at);
      at += key.byteLength;
    }
    const value = rows[i]!.value;
    bytes.set(value, at);
    at += value.byteLength;
  }
  return { topics, meta, headers, bytes: bytes.buffer };
}

function isEmpty(headers: Headers): boolean {
  for (const _ in headers) return false;
  return true;
}

export function packRecords(records: readonly LogRecord[]): PackedRecords {
  return pack(records);
}

export function unpackRecords(packed: PackedRecords): LogRecord[] {
  const { meta, bytes, headers, topics } = packed;
  const n = headers.length;
  const out: LogRecord[] = new Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const o = i * FIELDS;
    const keyLength = meta[o + 5]!;
    const valueLength = meta[o + 6]!;
    const key =
      meta[o + 4] === KEY_NULL || meta[o + 4] === KEY_NONE ? null : Buffer.from(bytes, at, keyLength);
    at += keyLength;
    const value = Buffer.from(bytes, at, valueLength);
    at += valueLength;
    out[i] = {
      topic: topics[meta[o]!]!,
      partition: meta[o + 1]!,
      offset: meta[o + 2]!,
      key,
      value,
      headers: headers[i] ?? {},
      timestamp: meta[o + 3]!,
    };
  }
  return out;
}

export function packInputs(records: readonly RecordInput[]): PackedRecords {
  return pack(records);
}

export function unpackInputs(packed: PackedRecords): RecordInput[] {
  const { meta, bytes, headers } = packed;
  const n = headers.length;
  const out: RecordInput[] = new Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const o = i * FIELDS;
    const kind = meta[o + 4];
    const keyLength = meta[o + 5]!;
    const valueLength = meta[o + 6]!;
    const keyBytes = Buffer.from(bytes, at, keyLength);
    at += keyLength;
    const record: RecordInput = { value: Buffer.from(bytes, at, valueLength) };
    at += valueLength;
    if (kind === KEY_NULL) record.key = null;
    else if (kind === KEY_STRING) record.key = keyBytes.toString('utf8');
    else if (kind === KEY_BYTES) record.key = keyBytes;
    const h = headers[i];
    if (h !== null && h !== undefined) record.headers = h;
    const ts = meta[o + 3]!;
    if (!Number.isNaN(ts)) record.timestamp = ts;
    out[i] = record;
  }
  return out;
}
