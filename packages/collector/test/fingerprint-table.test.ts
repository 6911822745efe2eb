import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FingerprintTable } from '../src/dedup/fingerprint-table.ts';

describe('fingerprint table', () => {
  it('sizes itself to the next power of two at least twice the capacity', () => {
    assert.equal(new FingerprintTable(3).buckets, 8);
    assert.equal(new FingerprintTable(4).buckets, 8);
    assert.equal(new FingerprintTable(1_000_000).buckets, 2_097_152);
  });

  it('keeps every key of one probe chain reachable when a key before them is deleted', () => {
    // 8 buckets, probing from low & 7: A and C start at bucket 6, B and D at 7, so the chain is
    // A@6 B@7 C@0 D@1, wrapping past the end of the table. B and D must not move in front of their home.
    const table = new FingerprintTable(4);
    const [a, b, c, d] = [
      [1, 6],
      [2, 7],
      [3, 14],
      [4, 15],
    ] as const;
    for (const [i, [hi, lo]] of [a, b, c, d].entries()) assert.equal(table.put(hi, lo, i), -1);
    assert.equal(table.get(9, 6), -1, 'same low half, different high half: another key');
    assert.equal(table.delete(a[0], a[1]), true);
    assert.equal(table.get(a[0], a[1]), -1);
    assert.equal(table.get(b[0], b[1]), 1);
    assert.equal(table.get(c[0], c[1]), 2, 'found after the hole the deletion left');
    assert.equal(table.get(d[0], d[1]), 3, 'found across the end of the table');
    assert.equal(table.delete(b[0], b[1]), true);
    assert.equal(table.get(c[0], c[1]), 2);
    assert.equal(table.get(d[0], d[1]), 3);
    assert.equal(table.delete(b[0], b[1]), false);
    assert.equal(table.size, 2);
    assert.equal(table.put(c[0], c[1], 7), 2, 'put answers the value it replaced');
    assert.equal(table.get(c[0], c[1]), 7);
  });

  it('answers like a Map through many random puts and deletes that collide constantly', () => {
    const capacity = 16;
    const table = new FingerprintTable(capacity);
    const model = new Map<string, number>();
    let seed = 12345;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let step = 0; step < 50_000; step++) {
      // Few distinct lows (many shared home buckets) and highs (same low, different key).
      const hi = random(3);
      const lo = random(40);
      const key = `${hi}:${lo}`;
      if (model.size < capacity && random(2) === 0) {
        assert.equal(table.put(hi, lo, step), model.get(key) ?? -1);
        model.set(key, step);
      } else {
        assert.equal(table.delete(hi, lo), model.delete(key));
      }
      assert.equal(table.size, model.size);
      if (step % 97 === 0) {
        for (let h = 0; h < 3; h++) {
          for (let l = 0; l < 40; l++)
            assert.equal(table.get(h, l), model.get(`${h}:${l}`) ?? -1, `step ${step}`);
        }
      }
    }
  });
});
