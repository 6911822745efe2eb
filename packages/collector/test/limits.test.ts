import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeTempDir } from '@tracklane/test-utils';
import { DedupIndex } from '../src/dedup/dedup-index.ts';
import { InFlightGate } from '../src/limits/in-flight-gate.ts';
import { TokenBuckets } from '../src/limits/token-buckets.ts';

describe('token buckets', () => {
  it('allows the burst, then refills at the rate and says how long to wait', () => {
    const buckets = new TokenBuckets(10, 20);
    assert.equal(buckets.take('k', 20, 0), 0);
    assert.equal(buckets.take('k', 5, 0), 1);
    assert.equal(buckets.take('k', 5, 500), 0);
    assert.equal(buckets.take('other', 20, 500), 0, 'keys have their own buckets');
  });
  it('stays bounded in keys', () => {
    const buckets = new TokenBuckets(1, 1, 100);
    for (let i = 0; i < 1_000; i++) buckets.take(`ip-${i}`, 1, 0);
    assert.equal(buckets.size, 100);
  });
});

describe('in-flight gate', () => {
  it('refuses past the bound but lets one oversized request through when idle', () => {
    const gate = new InFlightGate(10);
    assert.equal(gate.tryAcquire(8), true);
    assert.equal(gate.tryAcquire(5), false);
    gate.release(8);
    assert.equal(gate.tryAcquire(50), true);
    assert.equal(gate.full, true);
  });
});

describe('dedup index', () => {
  it('remembers persisted keys across a reopen, within the window only', async () => {
    await using dir = await makeTempDir();
    const now = Date.now();
    const first = await DedupIndex.open(dir.path, { windowMs: 60_000, maxEntries: 1_000 });
    first.add('s m1', now);
    first.add('s m-old', now - 120_000);
    first.persist(['s m1'], now);
    first.persist(['s m-old'], now - 120_000);
    first.add('s m-unpersisted', now);
    await first.close();
    const second = await DedupIndex.open(dir.path, { windowMs: 60_000, maxEntries: 1_000 });
    assert.equal(second.has('s m1', now), true);
    assert.equal(second.has('s m-old', now), false);
    assert.equal(second.has('s m-unpersisted', now), false);
    await second.close();
  });
  it('forgets the oldest keys past maxEntries and forgets a key whose append failed', async () => {
    await using dir = await makeTempDir();
    const index = await DedupIndex.open(dir.path, { windowMs: 60_000, maxEntries: 3 });
    for (let i = 0; i < 5; i++) index.add(`s m${i}`, Date.now());
    assert.equal(index.size, 3);
    assert.equal(index.has('s m0', Date.now()), false);
    index.remove('s m4');
    assert.equal(index.has('s m4', Date.now()), false);
    await index.close();
  });
  it('keeps exactly the newest maxEntries keys through many wraps of its ring, re-adds and removals', async () => {
    await using dir = await makeTempDir();
    const max = 1_000;
    const index = await DedupIndex.open(dir.path, { windowMs: 60_000, maxEntries: max });
    const now = Date.now();
    for (let i = 0; i < 25_000; i++) index.add(`s m${i}`, now);
    assert.equal(index.size, max);
    assert.equal(index.has('s m23999', now), false);
    assert.equal(index.has(`s m${25_000 - max - 1}`, now), false);
    assert.equal(index.has(`s m${25_000 - max}`, now), true);
    assert.equal(index.has('s m24999', now), true);
    // A re-added key moves to the newest end; a removed one is gone at once and frees its place later.
    index.add(`s m${25_000 - max}`, now);
    index.remove('s m24999');
    assert.equal(index.has('s m24999', now), false);
    for (let i = 0; i < 2; i++) index.add(`s extra${i}`, now);
    assert.equal(index.has(`s m${25_000 - max}`, now), true);
    assert.equal(index.has(`s m${25_000 - max + 1}`, now), false);
    // The removed key's place is only reused when the ring comes round to it.
    assert.equal(index.size, max - 1);
    await index.close();
  });
  it('counts appends in flight per key and forgets a key only when none of them stored it', async () => {
    await using dir = await makeTempDir();
    const index = await DedupIndex.open(dir.path, { windowMs: 60_000, maxEntries: 100 });
    const now = Date.now();
    const first = index.begin('s a', index.slotOf('s a'), now);
    assert.equal(index.appending('s a'), true);
    const retry = index.begin('s a', index.slotOf('s a'), now);
    assert.equal(retry, first, 'a retry in flight shares the first attempt’s place');
    index.settle(retry, 's a', true);
    assert.equal(index.appending('s a'), true);
    index.settle(first, 's a', false);
    assert.equal(index.appending('s a'), false);
    assert.equal(index.has('s a', now), true, 'the retry stored it, so it stays remembered');
    const lone = index.begin('s b', index.slotOf('s b'), now);
    index.settle(lone, 's b', false);
    assert.equal(index.has('s b', now), false, 'a failed append with no retry is forgotten');
    await index.close();
  });
  it('forgets keys once they are older than the window', async () => {
    await using dir = await makeTempDir();
    const index = await DedupIndex.open(dir.path, { windowMs: 60_000, maxEntries: 100 });
    const now = Date.now();
    index.add('s old', now - 61_000);
    index.add('s new', now);
    assert.equal(index.has('s old', now), false);
    assert.equal(index.has('s new', now), true);
    await index.close();
  });
});
