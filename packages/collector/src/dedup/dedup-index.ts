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
 * Memory: a Map in insertion (= time) order, swept from the front as entries expire and capped at
 * `maxEntries` (oldest forgotten first). Disk: each accepted key is appended to a log file per time bucket
 * (`dedup-<bucket start>.log`); on open the files still inside the window are read back and older ones
 * deleted. Writes are not fsynced: a key lost in a crash only means a retry is appended again, which the
 * store's primary key on message_id then drops.
 */
export class DedupIndex {
  readonly #dir: string;
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #bucketMs: number;
  readonly #seen = new Map<string, number>();
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
    const at = this.#seen.get(key);
    return at !== undefined && nowMs - at < this.#windowMs;
  }

  /** Marks a key as taken before its append, so a concurrent duplicate is recognised. */
  add(key: string, nowMs: number): void {
    this.#seen.delete(key);
    this.#seen.set(key, nowMs);
    if (this.#seen.size > this.#maxEntries) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }

  /** Undoes `add` when the append failed, so the client's retry is accepted. */
  remove(key: string): void {
    this.#seen.delete(key);
  }

  /** Records keys whose append succeeded; one write per request. */
  persist(keys: string[], nowMs: number): void {
    if (keys.length === 0) return;
    let text = '';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      // A newline inside a messageId would corrupt the line format; such keys are simply not persisted.
      if (key.includes('\n')) continue;
      text += `${nowMs} ${key}\n`;
    }
    this.#streamFor(nowMs).write(text);
  }

  get size(): number {
    return this.#seen.size;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream !== undefined) await new Promise<void>((resolve) => stream.end(resolve));
  }

  #streamFor(nowMs: number): WriteStream {
    const bucket = nowMs - (nowMs % this.#bucketMs);
    if (this.#stream === undefined || bucket !== this.#streamBucket) {
      this.#stream?.end();
      this.#stream = createWriteStream(join(this.#dir, `${FILE_PREFIX}${bucket}${FILE_SUFFIX}`), {
        flags: 'a',
      });
      this.#streamBucket = bucket;
      void this.#deleteExpiredFiles(nowMs);
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

  #sweep(nowMs: number): void {
    for (const [key, at] of this.#seen) {
      if (nowMs - at < this.#windowMs) break;
      this.#seen.delete(key);
    }
  }
}
