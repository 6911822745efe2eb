/**
 * Kafka's default partitioner (murmur2, positive-masked) so that a key lands on the same partition number
 * in the embedded log and in Kafka: moving between them does not reorder a user's events.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = seed ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4]! & 0xff) +
      ((data[i4 + 1]! & 0xff) << 8) +
      ((data[i4 + 2]! & 0xff) << 16) +
      ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length % 4;
  const base = length & ~3;
  if (rest === 3) h ^= (data[base + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[base + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[base]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

const encoder = new TextEncoder();
/** Reused for non-ASCII keys (grown as needed), so no key allocates: this runs once per appended record. */
let scratch = new Uint8Array(256);

export function partitionForKey(key: string | Uint8Array, partitions: number): number {
  return (murmur2OfKey(key) & 0x7fffffff) % partitions;
}

function murmur2OfKey(key: string | Uint8Array): number {
  if (typeof key !== 'string') return murmur2(key);
  // An ASCII string's UTF-8 bytes are its char codes: hash those directly. Anything else is encoded into
  // the scratch buffer (UTF-8 is at most 3 bytes per UTF-16 unit), which keeps the bytes, and so the
  // partition, exactly those of TextEncoder (lone surrogates become U+FFFD alike).
  let ascii = true;
  for (let i = 0; i < key.length; i++) {
    if (key.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return murmur2Ascii(key);
  if (scratch.length < key.length * 3) scratch = new Uint8Array(key.length * 3);
  const { written } = encoder.encodeInto(key, scratch);
  return murmur2(scratch.subarray(0, written));
}

/** `murmur2` over the bytes of an ASCII-only string, read as char codes. */
function murmur2Ascii(key: string): number {
  const length = key.length;
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      key.charCodeAt(i4) +
      (key.charCodeAt(i4 + 1) << 8) +
      (key.charCodeAt(i4 + 2) << 16) +
      (key.charCodeAt(i4 + 3) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length % 4;
  const base = length & ~3;
  if (rest === 3) h ^= key.charCodeAt(base + 2) << 16;
  if (rest >= 2) h ^= key.charCodeAt(base + 1) << 8;
  if (rest >= 1) {
    h ^= key.charCodeAt(base);
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}
