import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fingerprint } from '../src/dedup/fingerprint.ts';

function fp(key: string): [number, number] {
  const out = new Int32Array(2);
  fingerprint(key, out);
  return [out[0]!, out[1]!];
}

describe('dedup key fingerprint', () => {
  it('is the same for the same text, however the string was built', () => {
    const parts = ['src_1', 'msg-', '42'];
    assert.deepEqual(fp(`${parts[0]} ${parts[1]}${parts[2]}`), fp('src_1 msg-42'));
    assert.notDeepEqual(fp('src_1 msg-42'), fp('src_1 msg-43'));
    assert.notDeepEqual(fp('src_1 msg-42'), fp('src_2 msg-42'), 'the source is part of the key');
    assert.notDeepEqual(fp('ab'), fp('ba'));
  });

  it('behaves like two independent 32-bit hashes over similar keys (birthday-bound collision counts)', () => {
    // Keys as SDKs send them: one source, ids differing in a few characters.
    const n = 200_000;
    const his = new Map<number, number>();
    const los = new Map<number, number>();
    const both = new Set<string>();
    let hiCollisions = 0;
    let loCollisions = 0;
    for (let i = 0; i < n; i++) {
      const [hi, lo] = fp(`src_bench ${i}-${i % 7}`);
      if (his.has(hi)) hiCollisions++;
      if (los.has(lo)) loCollisions++;
      his.set(hi, i);
      los.set(lo, i);
      both.add(`${hi}:${lo}`);
    }
    // Expected per half: n^2 / 2^33 = 4.7; a weak half (e.g. one ignoring some characters) has thousands.
    assert.ok(hiCollisions < 25, `hi half collided ${hiCollisions} times`);
    assert.ok(loCollisions < 25, `lo half collided ${loCollisions} times`);
    assert.equal(both.size, n, 'no 64-bit fingerprint repeats');
  });

  it('spreads keys evenly over the low bits that pick a table bucket', () => {
    const buckets = new Uint32Array(1024);
    const n = 1024 * 64;
    for (let i = 0; i < n; i++) buckets[fp(`s m-${i}`)[1] & 1023]!++;
    // Binomial(n, 1/1024): mean 64, sd 8; 6 sd either way.
    assert.ok(Math.max(...buckets) < 64 + 48, `fullest bucket ${Math.max(...buckets)}`);
    assert.ok(Math.min(...buckets) > 64 - 48, `emptiest bucket ${Math.min(...buckets)}`);
  });
});
