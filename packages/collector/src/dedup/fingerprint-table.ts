/**
 * An open-addressing hash table from a 64-bit fingerprint (two int32 halves) to a non-negative int32, in one
 * Int32Array off the JS heap: per bucket [hi, lo, value + 1], 0 in the third cell marking an empty bucket.
 * The bucket count is the next power of two >= 2 x capacity, so the load factor stays <= 0.5 and linear
 * probing chains stay short; the caller never holds more than `capacity` entries (the dedup ring bounds it).
 *
 * Deletion shifts the following entries of the probe chain back (Knuth's algorithm R) instead of leaving
 * tombstones: a dedup index deletes as often as it inserts (every eviction), and tombstones would fill the
 * table until lookups of absent keys walked all of it.
 *
 * The bucket is chosen by the low half, which `fingerprint` mixes well; three adjacent int32 put a
 * bucket's fingerprint and value in one cache line, so a lookup is usually one cache miss.
 */
export class FingerprintTable {
  readonly #cells: Int32Array;
  readonly #mask: number;
  #size = 0;

  constructor(capacity: number) {
    let buckets = 2;
    while (buckets < capacity * 2) buckets *= 2;
    this.#mask = buckets - 1;
    this.#cells = new Int32Array(buckets * 3);
  }

  get size(): number {
    return this.#size;
  }

  get buckets(): number {
    return this.#mask + 1;
  }

  /** The value stored for the fingerprint, or -1. */
  get(hi: number, lo: number): number {
    const cells = this.#cells;
    const mask = this.#mask;
    for (let b = lo & mask; ; b = (b + 1) & mask) {
      const at = b * 3;
      const stored = cells[at + 2]!;
      if (stored === 0) return -1;
      if (cells[at + 1] === lo && cells[at] === hi) return stored - 1;
    }
  }

  /** Stores `value` (>= 0) for the fingerprint; returns the value it replaced, or -1. */
  put(hi: number, lo: number, value: number): number {
    const cells = this.#cells;
    const mask = this.#mask;
    for (let b = lo & mask; ; b = (b + 1) & mask) {
      const at = b * 3;
      const stored = cells[at + 2]!;
      if (stored === 0) {
        cells[at] = hi;
        cells[at + 1] = lo;
        cells[at + 2] = value + 1;
        this.#size++;
        return -1;
      }
      if (cells[at + 1] === lo && cells[at] === hi) {
        cells[at + 2] = value + 1;
        return stored - 1;
      }
    }
  }

  /** Removes the fingerprint; returns whether it was there. */
  delete(hi: number, lo: number): boolean {
    const cells = this.#cells;
    const mask = this.#mask;
    let hole = lo & mask;
    for (; ; hole = (hole + 1) & mask) {
      const at = hole * 3;
      if (cells[at + 2] === 0) return false;
      if (cells[at + 1] === lo && cells[at] === hi) break;
    }
    // Backward shift: an entry further down the chain moves into the hole unless its home bucket lies
    // cyclically after the hole (then moving it before its home would hide it from lookups).
    for (let next = (hole + 1) & mask; ; next = (next + 1) & mask) {
      const at = next * 3;
      if (cells[at + 2] === 0) break;
      const home = cells[at + 1]! & mask;
      const homeAfterHole = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (homeAfterHole) continue;
      const to = hole * 3;
      cells[to] = cells[at]!;
      cells[to + 1] = cells[at + 1]!;
      cells[to + 2] = cells[at + 2]!;
      hole = next;
    }
    cells[hole * 3 + 2] = 0;
    this.#size--;
    return true;
  }
}
