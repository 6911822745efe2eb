/**
 * A 64-bit fingerprint of a dedup key, as two 32-bit halves written into `out` ([0] = hi, [1] = lo), computed
 * over the string's UTF-16 char codes so that hashing a key allocates nothing (no UTF-8 encoding, no
 * BigInt). The halves come from two different multiply-xor recurrences (FNV-1a's prime; MurmurHash2's
 * multiplier with a shift), each finished with MurmurHash3's fmix32 avalanche, so they behave as two
 * independent 32-bit hashes: the dedup table's false-positive rate (see dedup-index.ts) rests on that, and
 * `fingerprint.test.ts` checks each half's collision count against the birthday bound.
 *
 * The low half picks the table bucket, so it must be well mixed in its low bits (fmix32 sees to that).
 *
 * Not cryptographic: someone holding a write key could search for a messageId colliding with another of the
 * same source's ids, but only if they knew that id in advance; with a write key they can send anything anyway.
 */
export function fingerprint(key: string, out: Int32Array): void {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c ^ key.length;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  out[0] = fmix32(h1 ^ key.length);
  out[1] = fmix32(h2);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
