import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferPool } from '../src/embedded/buffer-pool.ts';

describe('BufferPool', () => {
  it('hands a returned backing store to the next batch of a similar size', () => {
    const pool = new BufferPool(1 << 20);
    const a = pool.take(30_000);
    assert.equal(a.length, 30_000);
    pool.give(a);
    const b = pool.take(20_000);
    assert.equal(b.length, 20_000);
    assert.equal(b.buffer, a.buffer);
  });

  it('does not pin a large store for a tiny batch, and stays under its byte cap', () => {
    const pool = new BufferPool(200_000);
    const big = pool.take(120_000);
    pool.give(big);
    assert.notEqual(pool.take(100).buffer, big.buffer);
    const stores = [pool.take(60_000), pool.take(60_000), pool.take(60_000), pool.take(60_000)];
    for (const s of stores) pool.give(s);
    const again = [pool.take(60_000), pool.take(60_000), pool.take(60_000), pool.take(60_000)];
    const reused = again.filter((s) => stores.some((t) => t.buffer === s.buffer)).length;
    assert.ok(reused < 4, 'stores beyond the cap were dropped');
  });
});
