import { hash } from 'node:crypto';

export interface Source {
  /** Stable, non-secret id recorded on every event (`source_id`); never the write key itself. */
  id: string;
  name: string;
}

export interface SourceWithKey extends Source {
  writeKey: string;
}

/**
 * Write key -> source lookup. Keys are held only as SHA-256 digests so a heap dump or an accidental log of
 * this object never shows a usable key.
 */
export class SourceRegistry {
  readonly #byDigest = new Map<string, Source>();

  constructor(sources: SourceWithKey[]) {
    for (const { writeKey, ...source } of sources) this.#byDigest.set(digest(writeKey), source);
  }

  lookup(writeKey: string | undefined): Source | undefined {
    if (writeKey === undefined || writeKey.length === 0 || writeKey.length > 512) return undefined;
    return this.#byDigest.get(digest(writeKey));
  }

  /** Accepts a new write key from now on (sources created from the dashboard while running). */
  add(source: SourceWithKey): void {
    const { writeKey, ...rest } = source;
    this.#byDigest.set(digest(writeKey), rest);
  }

  /** Stops accepting every key of the source with this id; returns whether any was removed. */
  remove(id: string): boolean {
    let removed = false;
    for (const [key, source] of this.#byDigest) {
      if (source.id === id) removed = this.#byDigest.delete(key) || removed;
    }
    return removed;
  }

  get size(): number {
    return this.#byDigest.size;
  }
}

/** One-shot `crypto.hash`: runs on every request, and skips the Hash object `createHash` allocates. */
function digest(key: string): string {
  return hash('sha256', key, 'base64url');
}
