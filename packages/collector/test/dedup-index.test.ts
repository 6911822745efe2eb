import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeTempDir } from '@tracklane/test-utils';
import { DedupIndex } from '../src/dedup/dedup-index.ts';
import { fingerprint } from '../src/dedup/fingerprint.ts';

const WINDOW = 60_000;
/** The index's bucket length for WINDOW: max(1 min, window / 24). */
const BUCKET = 60_000;

function key(i: number): string {
  return DedupIndex.key('src_1', `msg-${i}`);
}

describe('dedup index (fingerprint table)', () => {
  it('finds every one of many keys it took and none it did not', async () => {
    await using dir = await makeTempDir();
    const n = 100_000;
    const index = await DedupIndex.open(dir.path, { windowMs: WINDOW, maxEntries: n });
    const now = Date.now();
    for (let i = 0; i < n; i++) index.add(key(i), now);
    assert.equal(index.size, n);
    for (let i = 0; i < n; i++) assert.equal(index.has(key(i), now), true, key(i));
    for (let i = n; i < 2 * n; i++) assert.equal(index.has(key(i), now), false, key(i));
    await index.close();
  });

  it('forgets a key once it is older than the window and takes it again afterwards', async () => {
    await using dir = await makeTempDir();
    const index = await DedupIndex.open(dir.path, { windowMs: WINDOW, maxEntries: 10 });
    const t0 = Date.now();
    index.add(key(1), t0);
    assert.equal(index.has(key(1), t0 + WINDOW - 1), true);
    assert.equal(index.has(key(1), t0 + WINDOW), false);
    const slot = index.slotOf(key(1));
    assert.equal(index.isFresh(slot, t0 + WINDOW), false);
    const again = index.begin(key(1), slot, t0 + WINDOW);
    assert.notEqual(again, slot, 'an expired key is taken anew at the ring’s tail');
    assert.equal(index.has(key(1), t0 + WINDOW), true);
    assert.equal(index.size, 1, 'its old place no longer counts');
    await index.close();
  });

  it('holds at most maxEntries keys, forgetting the oldest first', async () => {
    await using dir = await makeTempDir();
    const max = 1_000;
    const index = await DedupIndex.open(dir.path, { windowMs: WINDOW, maxEntries: max });
    const now = Date.now();
    for (let i = 0; i < 3 * max + 7; i++) index.add(key(i), now);
    assert.equal(index.size, max);
    assert.equal(index.has(key(2 * max + 6), now), false);
    for (let i = 2 * max + 7; i < 3 * max + 7; i++) assert.equal(index.has(key(i), now), true, key(i));
    await index.close();
  });

  it('keeps both keys of one probe chain apart through adds, evictions and removals', async () => {
    await using dir = await makeTempDir();
    // maxEntries 2 means a table of 4 buckets: find keys whose fingerprints start probing at the same one.
    const fp = new Int32Array(2);
    const byHome: string[][] = [[], [], [], []];
    for (let i = 0; byHome.every((keys) => keys.length < 3) && i < 1000; i++) {
      fingerprint(key(i), fp);
      byHome[fp[1]! & 3]!.push(key(i));
    }
    const [a, b, c] = byHome.find((keys) => keys.length >= 3)!;
    const index = await DedupIndex.open(dir.path, { windowMs: WINDOW, maxEntries: 2 });
    const now = Date.now();
    index.add(a!, now);
    index.add(b!, now);
    assert.equal(index.has(a!, now), true);
    assert.equal(index.has(b!, now), true);
    index.remove(a!);
    assert.equal(index.has(a!, now), false);
    assert.equal(index.has(b!, now), true, 'b is found although a, earlier in its chain, is gone');
    index.add(c!, now);
    index.add(a!, now);
    assert.equal(index.has(b!, now), false, 'evicted as the oldest');
    assert.equal(index.has(c!, now), true);
    assert.equal(index.has(a!, now), true);
    assert.equal(index.size, 2);
    await index.close();
  });

  it('remembers persisted keys across a reopen as fingerprints, ignoring a torn last record', async () => {
    await using dir = await makeTempDir();
    const now = Date.now();
    const first = await DedupIndex.open(dir.path, { windowMs: WINDOW, maxEntries: 100 });
    const keys = [key(1), key(2), 's id with\nnewline'];
    for (const k of keys) first.add(k, now);
    first.persist(keys, now);
    first.persist([key(3)], now - 2 * WINDOW);
    await first.close();
    const files = (await readdir(dir.path)).filter((f) => f.endsWith('.fp'));
    assert.equal(files.length, 2, files.join());
    const current = join(dir.path, `dedup-${now - (now % BUCKET)}.fp`);
    const bytes = await readFile(current);
    assert.equal(bytes.length, 3 * 16);
    assert.equal(bytes.includes('msg-1'), false, 'no key text on disk');
    await writeFile(current, Buffer.concat([bytes, bytes.subarray(0, 9)]));
    const second = await DedupIndex.open(dir.path, { windowMs: WINDOW, maxEntries: 100 });
    for (const k of keys) assert.equal(second.has(k, now), true, k);
    assert.equal(second.has(key(3), now), false, 'outside the window');
    assert.equal(second.has(key(4), now), false);
    assert.equal(second.size, 3);
    await second.close();
    assert.equal(
      (await readdir(dir.path)).some((f) =>
        f.startsWith(`dedup-${now - 2 * WINDOW - ((now - 2 * WINDOW) % BUCKET)}`),
      ),
      false,
      'the expired bucket file is deleted on open',
    );
  });

  it('reads the text bucket files of earlier versions on open', async () => {
    await using dir = await makeTempDir();
    const now = Date.now();
    const bucket = now - (now % BUCKET);
    await writeFile(
      join(dir.path, `dedup-${bucket}.log`),
      `${now} ${key(1)}\n${now - 2 * WINDOW} ${key(2)}\n${now} ${key(3)}\n${now} ${key(4)}`,
    );
    const index = await DedupIndex.open(dir.path, { windowMs: WINDOW, maxEntries: 100 });
    assert.equal(index.has(key(1), now), true);
    assert.equal(index.has(key(3), now), true);
    assert.equal(index.has(key(2), now), false, 'outside the window');
    assert.equal(index.has(key(4), now), false, 'a torn last line');
    // New keys go to a binary file beside it; both are read on the next open.
    index.add(key(5), now);
    index.persist([key(5)], now);
    await index.close();
    const again = await DedupIndex.open(dir.path, { windowMs: WINDOW, maxEntries: 100 });
    assert.equal(again.has(key(1), now), true);
    assert.equal(again.has(key(5), now), true);
    await again.close();
  });
});
