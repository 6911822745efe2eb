import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fingerprint } from './fingerprint.ts';
import { FingerprintTable } from './fingerprint-table.ts';

export interface DedupIndexOptions {
  windowMs: number;
  maxEntries: number;
}

const FILE_PREFIX = 'dedup-';
/** Binary bucket files: 16-byte records (float64 LE time in ms, int32 LE fingerprint hi, int32 LE lo). */
const FILE_SUFFIX = '.fp';
/** Text bucket files of earlier versions (`<ms> <key>\n` lines); still read on open, never written. */
const OLD_FILE_SUFFIX = '.log';
const RECORD_BYTES = 16;
const INITIAL_PENDING_BYTES = 1024 * RECORD_BYTES;
const MAX_KEPT_PENDING_BYTES = 1 << 20;

/** Ring slot flags: the table points at this slot; one of its appends stored the key. */
const LIVE = 1;
const STORED = 2;

/**
 * Remembers `source messageId` keys for a window so a retried or replayed event is appended once.
 *
 * Memory: keys are kept as 64-bit fingerprints (see fingerprint.ts), never as strings, so a million keys
 * are 46 MB of typed arrays off the JS heap, which the GC never traces (a Map of a million UUID keys held
 * ~136 MB of heap, and was ~1/3 of the collector's CPU per batched event: lookups, rehashes and GC). A ring in insertion (= time) order holds each key's
 * fingerprint, time and in-flight state; a `FingerprintTable` (open addressing, linear probing, backward-
 * shift deletion) maps a fingerprint to its ring slot. The ring is swept from its head as entries expire
 * and is at most `maxEntries` long (past it, the oldest is forgotten first).
 *
 * False positives: a new key is taken for a remembered one when its 64-bit fingerprint equals one of the
 * n remembered fingerprints: about n / 2^64 per lookup, 5.4e-14 with the default 1,000,000 keys. That is
 * a genuine event dropped as a duplicate, and nothing downstream brings it back (the store's message_id
 * key only drops copies, it never restores a dropped event). At 1e9 events a day that is one lost event
 * every ~50 years: accepted, for a third of the memory and a lookup that is a few cache misses instead
 * of string hashing, comparison and GC of a million strings. The typed arrays are allocated at open for
 * `maxEntries` (the OS commits pages as they are first written).
 *
 * Disk: accepted keys' fingerprints are appended to a binary file per time bucket
 * (`dedup-<bucket start>.fp`), gathered into one write per event-loop turn; on open the files still
 * inside the window are read back and older ones deleted. Files of the earlier text format
 * (`dedup-<bucket start>.log`, one `<ms> <key>` line each) are read too, their keys hashed. Writes are not
 * fsynced: a key lost in a crash only means a retry is appended again, which the store's primary key on
 * message_id then drops; a torn last record is ignored.
 */
export class DedupIndex {
  readonly #dir: string;
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #bucketMs: number;
  readonly #table: FingerprintTable;
  /** The ring, by slot: fingerprint halves, time taken (ms), appends in flight, LIVE / STORED flags. */
  readonly #hi: Int32Array;
  readonly #lo: Int32Array;
  readonly #ats: Float64Array;
  readonly #appending: Int32Array;
  readonly #flags: Uint8Array;
  /** The fingerprint last computed, and the key `slotOf` computed it for (which `begin` then reuses). */
  readonly #fp = new Int32Array(2);
  #fpKey: string | undefined;
  #head = 0;
  #count = 0;
  #pending = Buffer.allocUnsafe(INITIAL_PENDING_BYTES);
  #pendingBytes = 0;
  #pendingBucket = -1;
  #flushScheduled = false;
  #stream: WriteStream | undefined;
  #streamBucket = -1;
  #sweeper: NodeJS.Timeout;

  private constructor(dir: string, options: DedupIndexOptions) {
    this.#dir = dir;
    this.#windowMs = options.windowMs;
    this.#maxEntries = options.maxEntries;
    this.#bucketMs = Math.max(60_000, Math.floor(options.windowMs / 24));
    const max = options.maxEntries;
    this.#table = new FingerprintTable(max);
    this.#hi = new Int32Array(max);
    this.#lo = new Int32Array(max);
    this.#ats = new Float64Array(max);
    this.#appending = new Int32Array(max);
    this.#flags = new Uint8Array(max);
    this.#sweeper = setInterval(() => this.#sweep(Date.now()), Math.min(60_000, this.#bucketMs));
    this.#sweeper.unref();
  }

  static async open(dir: string, options: DedupIndexOptions): Promise<DedupIndex> {
    await mkdir(dir, { recursive: true });
    const index = new DedupIndex(dir, options);
    await index.#load(Date.now());
    return index;
  }

  static key(sourceId: string, messageId: string): string {
    return `${sourceId} ${messageId}`;
  }

  has(key: string, nowMs: number): boolean {
    const slot = this.slotOf(key);
    return slot !== -1 && this.isFresh(slot, nowMs);
  }

  /**
   * The key's ring slot, or -1. The ingest path looks a key up once and passes the slot on (`isFresh`,
   * `isAppending`, `begin`), so a new event costs one lookup, one insert and one eviction.
   */
  slotOf(key: string): number {
    fingerprint(key, this.#fp);
    this.#fpKey = key;
    return this.#table.get(this.#fp[0]!, this.#fp[1]!);
  }

  /** Whether the key in `slot` was taken within the window. */
  isFresh(slot: number, nowMs: number): boolean {
    return nowMs - this.#ats[slot]! < this.#windowMs;
  }

  /** Whether some request is appending the key in `slot` right now (then it is not a duplicate yet). */
  isAppending(slot: number): boolean {
    return this.#appending[slot]! > 0;
  }

  /** Marks a key as taken (as before its append), so a concurrent duplicate is recognised. */
  add(key: string, nowMs: number): void {
    this.#hash(key);
    this.#insert(this.#fp[0]!, this.#fp[1]!, nowMs);
  }

  /**
   * Takes a key for an append about to start and counts that append as in flight; a key whose append is
   * already in flight keeps its slot and counts one more. `slot` is what `slotOf` answered for the key
   * (it may have been evicted since). Returns the slot for `settle`. The in-flight state lives in the ring
   * beside the key, so the hot path pays no second table.
   */
  begin(key: string, slot: number, nowMs: number): number {
    // Normally the very string slotOf just hashed, so this compares pointers, not text.
    if (key !== this.#fpKey) this.#hash(key);
    if (slot !== -1 && this.#holdsHashed(slot) && this.#appending[slot]! > 0) {
      this.#appending[slot]!++;
      return slot;
    }
    const added = this.#insert(this.#fp[0]!, this.#fp[1]!, nowMs);
    this.#appending[added] = 1;
    return added;
  }

  /** Whether some request is appending this key right now (it is then not a duplicate yet: see ingest). */
  appending(key: string): boolean {
    const slot = this.slotOf(key);
    return slot !== -1 && this.isAppending(slot);
  }

  /**
   * One append of the key `begin` put in `slot` finished, `stored` or not. When the last one finished and
   * none stored the key, it is forgotten, so the client's retry is accepted. A slot the ring has since
   * given to another key (or swept) is left alone: that key is simply no longer remembered.
   */
  settle(slot: number, key: string, stored: boolean): void {
    if (!this.#holds(slot, key)) return;
    if (stored) this.#flags[slot]! |= STORED;
    if (--this.#appending[slot]! > 0) return;
    if ((this.#flags[slot]! & STORED) === 0) this.#forget(slot);
  }

  /** Undoes `add` when the append failed, so the client's retry is accepted. */
  remove(key: string): void {
    const slot = this.slotOf(key);
    if (slot !== -1) this.#forget(slot);
  }

  /** Records keys whose append succeeded; written out once per event-loop turn. */
  persist(keys: string[], nowMs: number): void {
    if (keys.length === 0) return;
    const bucket = nowMs - (nowMs % this.#bucketMs);
    if (bucket !== this.#pendingBucket) {
      this.#flush();
      this.#pendingBucket = bucket;
    }
    const needed = this.#pendingBytes + keys.length * RECORD_BYTES;
    if (needed > this.#pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.#pending.length * 2));
      this.#pending.copy(grown, 0, 0, this.#pendingBytes);
      this.#pending = grown;
    }
    const pending = this.#pending;
    let at = this.#pendingBytes;
    for (let i = 0; i < keys.length; i++) {
      this.#hash(keys[i]!);
      pending.writeDoubleLE(nowMs, at);
      pending.writeInt32LE(this.#fp[0]!, at + 8);
      pending.writeInt32LE(this.#fp[1]!, at + 12);
      at += RECORD_BYTES;
    }
    this.#pendingBytes = at;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  get size(): number {
    return this.#table.size;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#flush();
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream !== undefined) await new Promise<void>((resolve) => stream.end(resolve));
  }

  /** Hashes into #fp; comparing with #fpKey first would cost as much as hashing when the keys differ. */
  #hash(key: string): void {
    fingerprint(key, this.#fp);
    this.#fpKey = undefined;
  }

  /** Whether `slot` is live and holds `key` (leaves the key's fingerprint in #fp). */
  #holds(slot: number, key: string): boolean {
    this.#hash(key);
    return this.#holdsHashed(slot);
  }

  /** Whether `slot` is live and holds the fingerprint in #fp. */
  #holdsHashed(slot: number): boolean {
    return (
      (this.#flags[slot]! & LIVE) !== 0 && this.#lo[slot] === this.#fp[1] && this.#hi[slot] === this.#fp[0]
    );
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#pendingBytes === 0) return;
    // A copy: the stream writes later, and the pending buffer is reused at once.
    const chunk = Buffer.from(this.#pending.subarray(0, this.#pendingBytes));
    this.#pendingBytes = 0;
    // A burst (loading, a huge turn) may have grown the buffer; do not keep megabytes for it.
    if (this.#pending.length > MAX_KEPT_PENDING_BYTES)
      this.#pending = Buffer.allocUnsafe(INITIAL_PENDING_BYTES);
    this.#streamFor(this.#pendingBucket).write(chunk);
  }

  #streamFor(bucket: number): WriteStream {
    if (this.#stream === undefined || bucket !== this.#streamBucket) {
      this.#stream?.end();
      this.#stream = createWriteStream(join(this.#dir, `${FILE_PREFIX}${bucket}${FILE_SUFFIX}`), {
        flags: 'a',
      });
      this.#streamBucket = bucket;
      void this.#deleteExpiredFiles(bucket);
    }
    return this.#stream;
  }

  async #load(nowMs: number): Promise<void> {
    const live = await this.#deleteExpiredFiles(nowMs);
    // Oldest first, so the ring stays in time order; within a bucket the old format was written first.
    live.sort((a, b) => a.bucket - b.bucket || Number(b.old) - Number(a.old));
    for (const { name, old } of live) {
      if (old) this.#loadText(await readFile(join(this.#dir, name), 'utf8'), nowMs);
      else this.#loadBinary(await readFile(join(this.#dir, name)), nowMs);
    }
  }

  #loadBinary(data: Buffer, nowMs: number): void {
    // A torn last record (crash mid-write) is shorter than RECORD_BYTES and is ignored.
    for (let at = 0; at + RECORD_BYTES <= data.length; at += RECORD_BYTES) {
      const ms = data.readDoubleLE(at);
      if (nowMs - ms < this.#windowMs) this.#insert(data.readInt32LE(at + 8), data.readInt32LE(at + 12), ms);
    }
  }

  #loadText(text: string, nowMs: number): void {
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n', start);
      // A torn last line (crash mid-write) has no newline and is ignored.
      if (end === -1) break;
      const space = text.indexOf(' ', start);
      if (space > start && space < end) {
        const at = Number(text.slice(start, space));
        if (nowMs - at < this.#windowMs) this.add(text.slice(space + 1, end), at);
      }
      start = end + 1;
    }
  }

  async #deleteExpiredFiles(nowMs: number): Promise<{ name: string; bucket: number; old: boolean }[]> {
    const live: { name: string; bucket: number; old: boolean }[] = [];
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch {
      return live;
    }
    for (const name of names) {
      if (!name.startsWith(FILE_PREFIX)) continue;
      const old = name.endsWith(OLD_FILE_SUFFIX);
      if (!old && !name.endsWith(FILE_SUFFIX)) continue;
      const bucket = Number(name.slice(FILE_PREFIX.length, -(old ? OLD_FILE_SUFFIX : FILE_SUFFIX).length));
      if (!Number.isFinite(bucket)) continue;
      if (bucket + this.#bucketMs <= nowMs - this.#windowMs) await rm(join(this.#dir, name), { force: true });
      else live.push({ name, bucket, old });
    }
    return live;
  }

  /** Puts a fingerprint at the ring's tail; a slot it held before is given up (its newer slot counts). */
  #insert(hi: number, lo: number, nowMs: number): number {
    if (this.#count >= this.#maxEntries) this.#evictOldest();
    let slot = this.#head + this.#count;
    if (slot >= this.#maxEntries) slot -= this.#maxEntries;
    const previous = this.#table.put(hi, lo, slot);
    if (previous !== -1) this.#flags[previous] = 0;
    this.#hi[slot] = hi;
    this.#lo[slot] = lo;
    this.#ats[slot] = nowMs;
    this.#appending[slot] = 0;
    this.#flags[slot] = LIVE;
    this.#count++;
    return slot;
  }

  /** Forgets the key in a live slot at once; the slot itself is reused when the ring comes round to it. */
  #forget(slot: number): void {
    this.#table.delete(this.#hi[slot]!, this.#lo[slot]!);
    this.#flags[slot] = 0;
  }

  #evictOldest(): void {
    const head = this.#head;
    if ((this.#flags[head]! & LIVE) !== 0) this.#forget(head);
    this.#head = head + 1 === this.#maxEntries ? 0 : head + 1;
    this.#count--;
  }

  #sweep(nowMs: number): void {
    while (this.#count > 0) {
      const head = this.#head;
      if ((this.#flags[head]! & LIVE) !== 0 && nowMs - this.#ats[head]! < this.#windowMs) break;
      this.#evictOldest();
    }
  }
}
