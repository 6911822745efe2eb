import type { Headers, LogRecord } from '@tracklane/log';

/**
 * A record read from a partition stream (layout in record-codec.ts, which has already checked its framing).
 * The value is a view made at once, as every reader reads it; the key and the headers are built on first
 * read: a stream pipeline reads the key and not the headers, and a reader that only counts or forwards
 * values reads neither, so a key view, a headers object and a string per header name and value per record
 * were garbage for them (issue 8: decoding is on every group member's path). Each is built once, and
 * assigning one replaces it, as with a plain record. Internals are `#` fields so that the record's own
 * enumerable properties are the plain fields only.
 */
export class NatsRecord implements LogRecord {
  readonly #data: Buffer;
  /** Where the key starts in `#data`, or -1 for a null key; it ends at `#keyEnd`. */
  readonly #keyStart: number;
  readonly #keyEnd: number;
  /** Where the version-2 headers (u16 nameLength, name, u32 valueLength, value; each UTF-8) lie. */
  readonly #headersStart: number;
  readonly #headersEnd: number;
  /** Undefined until first read (or given: a version-1 record's headers are parsed from JSON at once). */
  #key: Buffer | null | undefined = undefined;
  #headers: Headers | undefined;

  constructor(
    public topic: string,
    public partition: number,
    public offset: number,
    public timestamp: number,
    public value: Buffer,
    data: Buffer,
    keyStart: number,
    keyEnd: number,
    headersStart: number,
    headersEnd: number,
    headers: Headers | undefined,
  ) {
    this.#data = data;
    this.#keyStart = keyStart;
    this.#keyEnd = keyEnd;
    this.#headersStart = headersStart;
    this.#headersEnd = headersEnd;
    this.#headers = headers;
  }

  get key(): Buffer | null {
    if (this.#key === undefined) {
      this.#key = this.#keyStart < 0 ? null : this.#data.subarray(this.#keyStart, this.#keyEnd);
    }
    return this.#key;
  }

  set key(key: Buffer | null) {
    this.#key = key;
  }

  get headers(): Headers {
    if (this.#headers === undefined)
      this.#headers = readHeaders(this.#data, this.#headersStart, this.#headersEnd);
    return this.#headers;
  }

  set headers(headers: Headers) {
    this.#headers = headers;
  }

  /** The plain record, for JSON.stringify and for printing (the getters are not own properties). */
  toJSON(): LogRecord {
    const { topic, partition, offset, key, value, headers, timestamp } = this;
    return { topic, partition, offset, key, value, headers, timestamp };
  }
}

/**
 * Names recently decoded, by their bytes: records of one producer carry the same few header names, so a
 * name is compared byte by byte (a few nanoseconds) instead of decoded into a new string on every record.
 * Bounded: names beyond it are decoded each time.
 */
const NAME_CACHE_SIZE = 16;
const cachedNameBytes: Buffer[] = [];
const cachedNames: string[] = [];

function headerName(data: Buffer, start: number, end: number): string {
  const length = end - start;
  for (let c = 0; c < cachedNameBytes.length; c++) {
    const bytes = cachedNameBytes[c]!;
    if (bytes.length !== length) continue;
    let i = 0;
    while (i < length && bytes[i] === data[start + i]) i++;
    if (i === length) return cachedNames[c]!;
  }
  const name = data.toString('utf8', start, end);
  if (cachedNameBytes.length < NAME_CACHE_SIZE) {
    // A copy: a view would keep the whole socket chunk the message arrived in alive.
    cachedNameBytes.push(Buffer.from(data.subarray(start, end)));
    cachedNames.push(name);
  }
  return name;
}

/** Version-2 headers; their lengths were checked by decodeRecord. */
function readHeaders(data: Buffer, start: number, end: number): Headers {
  const headers: Headers = {};
  let at = start;
  while (at < end) {
    const nameEnd = at + 2 + data.readUInt16BE(at);
    const valueEnd = nameEnd + 4 + data.readUInt32BE(nameEnd);
    const name = headerName(data, at + 2, nameEnd);
    const value = data.toString('utf8', nameEnd + 4, valueEnd);
    // An assignment to "__proto__" would set the prototype instead; JSON.parse made it an own property.
    if (name === '__proto__')
      Object.defineProperty(headers, name, { value, enumerable: true, writable: true });
    else headers[name] = value;
    at = valueEnd;
  }
  return headers;
}
