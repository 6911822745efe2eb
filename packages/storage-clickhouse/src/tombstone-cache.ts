/**
 * The tombstones table held in memory, so insertEvents can tell erased ids without sending every id of the
 * batch to the server. Tombstones are few (one row per id of an erased person) and change only on erasure,
 * which may run in another process (the API role): so each batch first asks the server for a fingerprint
 * of the table, a query without parameters, and reloads the set when it changed. An insert by any process
 * changes the row count or the XOR of the rows' hashes; a merge that drops a duplicate changes them too,
 * which only costs a reload. Past `maxCached` rows the set is not held at all and each batch looks its ids
 * up, as before this cache.
 */

export type Select = <T>(query: string, params?: Record<string, unknown>) => Promise<T[]>;

/** Erased ids of a batch: distinct id -> the user id it was erased for. */
export type Tombstoned = Map<string, string>;

const FINGERPRINT =
  'SELECT count() AS n, toString(groupBitXor(cityHash64(distinct_id, erased_for))) AS h FROM tombstones';

export class TombstoneCache {
  readonly #maxCached: number;
  #fingerprint: string | undefined;
  #erased: Tombstoned | undefined;

  constructor(maxCached = 100_000) {
    this.#maxCached = maxCached;
  }

  /** The tombstoned ones among `ids`, as the server holds them now. `ids` is iterated only when some
   * tombstone exists. */
  async lookup(select: Select, ids: Iterable<string>): Promise<Tombstoned> {
    const [row] = await select<{ n: number; h: string }>(FINGERPRINT);
    const rows = Number(row?.n ?? 0);
    const fingerprint = `${rows}/${row?.h ?? ''}`;
    if (rows > this.#maxCached) {
      this.#erased = undefined;
      return this.#lookUpOnServer(select, ids);
    }
    if (fingerprint !== this.#fingerprint || this.#erased === undefined) {
      const all = await select<{ distinct_id: string; erased_for: string }>(
        'SELECT distinct_id, erased_for FROM tombstones FINAL',
      );
      this.#erased = new Map(all.map((r) => [r.distinct_id, r.erased_for]));
      this.#fingerprint = fingerprint;
    }
    const found: Tombstoned = new Map();
    if (this.#erased.size === 0) return found;
    for (const id of ids) {
      const erasedFor = this.#erased.get(id);
      if (erasedFor !== undefined) found.set(id, erasedFor);
    }
    return found;
  }

  /** Forgets the set, so the next lookup reloads it (after this process wrote tombstones). */
  invalidate(): void {
    this.#fingerprint = undefined;
    this.#erased = undefined;
  }

  async #lookUpOnServer(select: Select, ids: Iterable<string>): Promise<Tombstoned> {
    const rows = await select<{ distinct_id: string; erased_for: string }>(
      'SELECT distinct_id, erased_for FROM tombstones FINAL WHERE distinct_id IN {ids:Array(String)}',
      { ids: [...new Set(ids)] },
    );
    return new Map(rows.map((r) => [r.distinct_id, r.erased_for]));
  }
}
