import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface DedupIndexOptions {
  windowMs: number;
  maxEntries: number;
}

const FILE_PREFIX = 'dedup-';
const FILE_SUFFIX = '.log';

/**
 * Remembers `source messageId` keys for a window so a retried or replayed event is appended once.
 *
 * Memory: a ring of keys in insertion (= time) order with their times, and a Map from key to ring slot. The
 * ring is swept from its head as entries expire and is at most `maxEntries` long (past it, the oldest is
 * forgotten first). A ring, not the Map's own insertion order: evicting through `map.keys().next()` has to
 * step over every deleted entry V8 keeps at the front of the table until it rehashes, which made each
 * insert cost hundreds of microseconds once the index was full.
 *
 * Disk: accepted keys are appended to a log file per time bucket (`dedup-<bucket start>.log`), gathered
 * into one write per event-loop turn; on open the files still inside the window are read back and older
 * ones deleted. Writes are not fsynced: a key lost in a crash only means a retry is appended again, which
 * the store's primary key on message_id then drops.
 */
export class DedupIndex {
  readonly #dir: string;
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #bucketMs: number;
  readonly #slotOf = new Map<string, number>();
  /** Ring slots; `undefined` marks a key that was removed or added again later (its newer slot counts). */
  readonly #keys: (string | undefined)[] = [];
  readonly #ats: number[] = [];
  /** Per slot: how many requests are appending the key right now, and whether one of them stored it. */
  readonly #appending: number[] = [];
  readonly #stored: boolean[] = [];
  #head = 0;
  #count = 0;
  #pending = '';
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
   * `isAppending`, `begin`): with a million keys every map operation is a few cache misses, and a new
   * event then costs one lookup, one insert and one eviction.
   */
  slotOf(key: string): number {
    return this.#slotOf.get(key) ?? -1;
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
    this.#insert(key, this.slotOf(key), nowMs);
  }

  /**
   * Takes a key for an append about to start and counts that append as in flight; a key whose append is
   * already in flight keeps its slot and counts one more. `slot` is what `slotOf` answered for the key
   * (it may have been evicted since). Returns the slot for `settle`. The in-flight state lives in the ring
   * beside the key, so the hot path pays no second map.
   */
  begin(key: string, slot: number, nowMs: number): number {
    if (slot !== -1 && this.#keys[slot] === key && this.#appending[slot]! > 0) {
      this.#appending[slot]!++;
      return slot;
    }
    const added = this.#insert(key, slot, nowMs);
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
    if (this.#keys[slot] !== key) return;
    if (stored) this.#stored[slot] = true;
    if (--this.#appending[slot]! > 0) return;
    if (!this.#stored[slot]) this.remove(key);
  }

  /** Undoes `add` when the append failed, so the client's retry is accepted. */
  remove(key: string): void {
    const slot = this.#slotOf.get(key);
    if (slot === undefined) return;
    this.#slotOf.delete(key);
    this.#keys[slot] = undefined;
  }

  /** Records keys whose append succeeded; written out once per event-loop turn. */
  persist(keys: string[], nowMs: number): void {
    if (keys.length === 0) return;
    const bucket = nowMs - (nowMs % this.#bucketMs);
    if (bucket !== this.#pendingBucket) {
      this.#flush();
      this.#pendingBucket = bucket;
    }
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      // A newline inside a messageId would corrupt the line format; such keys are simply not persisted.
      if (key.includes('\n')) continue;
      this.#pending += `${nowMs} ${key}\n`;
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  get size(): number {
    return this.#slotOf.size;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#flush();
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream !== undefined) await new Promise<void>((resolve) => stream.end(resolve));
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#pending.length === 0) return;
    const text = this.#pending;
    this.#pending = '';
    this.#streamFor(this.#pendingBucket).write(text);
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
    live.sort((a, b) => a.bucket - b.bucket);
    for (const { name } of live) {
      const text = await readFile(join(this.#dir, name), 'utf8');
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
  }

  async #deleteExpiredFiles(nowMs: number): Promise<{ name: string; bucket: number }[]> {
    const live: { name: string; bucket: number }[] = [];
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch {
      return live;
    }
    for (const name of names) {
      if (!name.startsWith(FILE_PREFIX) || !name.endsWith(FILE_SUFFIX)) continue;
      const bucket = Number(name.slice(FILE_PREFIX.length, -FILE_SUFFIX.length));
      if (!Number.isFinite(bucket)) continue;
      if (bucket + this.#bucketMs <= nowMs - this.#windowMs) await rm(join(this.#dir, name), { force: true });
      else live.push({ name, bucket });
    }
    return live;
  }

  /** Puts a key at the ring's tail; `previous` is its current slot or -1 (a stale one is ignored). */
  #insert(key: string, previous: number, nowMs: number): number {
    if (previous !== -1 && this.#keys[previous] === key) this.#keys[previous] = undefined;
    if (this.#count >= this.#maxEntries) this.#evictOldest();
    const slot = (this.#head + this.#count) % this.#maxEntries;
    this.#keys[slot] = key;
    this.#ats[slot] = nowMs;
    this.#appending[slot] = 0;
    this.#stored[slot] = false;
    this.#count++;
    this.#slotOf.set(key, slot);
    return slot;
  }

  #evictOldest(): void {
    const key = this.#keys[this.#head];
    if (key !== undefined) this.#slotOf.delete(key);
    this.#keys[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#maxEntries;
    this.#count--;
  }

  #sweep(nowMs: number): void {
    while (this.#count > 0) {
      const key = this.#keys[this.#head];
      if (key !== undefined && nowMs - this.#ats[this.#head]! < this.#windowMs) break;
      this.#evictOldest();
    }
  }
}
