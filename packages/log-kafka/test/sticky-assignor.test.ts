import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TopicPartition } from '@tracklane/log';
import { assignSticky, type StickyMember } from '../src/sticky-assignor.ts';

const tp = (topic: string, partition: number): TopicPartition => ({ topic, partition });
const names = (list: readonly TopicPartition[] | undefined) =>
  (list ?? []).map((p) => `${p.topic}/${p.partition}`);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Partitions whose owner changed (or that had none): what a rebalance moves. */
function moved(
  members: readonly StickyMember[],
  result: Map<string, TopicPartition[]>,
  total: number,
): number {
  let stayed = 0;
  for (const m of members) {
    const now = new Set(names(result.get(m.id)));
    for (const p of names(m.owned)) if (now.has(p)) stayed++;
  }
  return total - stayed;
}

/** Checks every partition is assigned exactly once, and the shares differ by at most one. */
function assertComplete(result: Map<string, TopicPartition[]>, expected: string[]): void {
  const all = [...result.values()].flatMap(names).sort();
  assert.deepEqual(all, [...expected].sort(), 'every partition exactly once');
  const sizes = [...result.values()].map((l) => l.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `balanced within one: ${sizes}`);
}

/** A small seeded PRNG (mulberry32), so a failing case can be replayed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The fewest partitions any balanced assignment must move, by brute force over which members get the
 * larger shares: independent of the assignor's own choice of who gets them.
 */
function fewestMoves(owned: number[], total: number): number {
  const m = owned.length;
  const base = Math.floor(total / m);
  const extra = total % m;
  let bestKeep = 0;
  for (let mask = 0; mask < 1 << m; mask++) {
    let bits = 0;
    for (let i = 0; i < m; i++) if (mask & (1 << i)) bits++;
    if (bits !== extra) continue;
    let keep = 0;
    for (let i = 0; i < m; i++) keep += Math.min(owned[i]!, base + (mask & (1 << i) ? 1 : 0));
    bestKeep = Math.max(bestKeep, keep);
  }
  return total - bestKeep;
}

describe('the sticky assignor', () => {
  it('gives a new group a balanced assignment of every partition', () => {
    const members = ['a', 'b', 'c'].map((id) => ({ id, topics: ['events', 'dead-letter'], owned: [] }));
    const result = assignSticky(members, (t) => (t === 'events' ? 8 : 1));
    assertComplete(result, [...range(8).map((p) => `events/${p}`), 'dead-letter/0']);
  });

  it('changes nothing when the group did not change', () => {
    const first = assignSticky(
      ['a', 'b'].map((id) => ({ id, topics: ['t'], owned: [] })),
      () => 6,
    );
    const again = assignSticky(
      ['a', 'b'].map((id) => ({ id, topics: ['t'], owned: first.get(id)! })),
      () => 6,
    );
    assert.deepEqual(again, first);
  });

  it('moves only the new member its share when a member joins, and takes nothing else from anyone', () => {
    const members: StickyMember[] = [
      { id: 'a', topics: ['t'], owned: [0, 1, 2].map((p) => tp('t', p)) },
      { id: 'b', topics: ['t'], owned: [3, 4, 5].map((p) => tp('t', p)) },
      { id: 'c', topics: ['t'], owned: [] },
    ];
    const result = assignSticky(members, () => 6);
    assertComplete(
      result,
      range(6).map((p) => `t/${p}`),
    );
    assert.equal(result.get('c')!.length, 2);
    assert.equal(moved(members, result, 6), 2, 'exactly the two partitions the new member gets');
    for (const p of names(result.get('a'))) assert.ok(['t/0', 't/1', 't/2'].includes(p), 'a keeps its own');
    for (const p of names(result.get('b'))) assert.ok(['t/3', 't/4', 't/5'].includes(p), 'b keeps its own');
  });

  it('moves only the leaver partitions when a member leaves', () => {
    const members: StickyMember[] = [
      { id: 'a', topics: ['t'], owned: [0, 3].map((p) => tp('t', p)) },
      { id: 'c', topics: ['t'], owned: [2, 5].map((p) => tp('t', p)) },
      // b, which held 1 and 4, has left.
    ];
    const result = assignSticky(members, () => 6);
    assertComplete(
      result,
      range(6).map((p) => `t/${p}`),
    );
    assert.ok(names(result.get('a')).includes('t/0') && names(result.get('a')).includes('t/3'));
    assert.ok(names(result.get('c')).includes('t/2') && names(result.get('c')).includes('t/5'));
    assert.equal(moved(members, result, 6), 2);
  });

  it('gives the larger shares to the members that hold the most, so the fewest partitions move', () => {
    // 7 partitions, 3 members: shares 3, 2, 2. b holds 3: it must be one of the 3s, else one of its moves.
    const members: StickyMember[] = [
      { id: 'a', topics: ['t'], owned: [tp('t', 0)] },
      { id: 'b', topics: ['t'], owned: [1, 2, 3].map((p) => tp('t', p)) },
      { id: 'c', topics: ['t'], owned: [tp('t', 4)] },
    ];
    const result = assignSticky(members, () => 7);
    assertComplete(
      result,
      range(7).map((p) => `t/${p}`),
    );
    assert.deepEqual(names(result.get('b')), ['t/1', 't/2', 't/3']);
    assert.equal(moved(members, result, 7), 2, 'only the two unowned partitions');
  });

  it('drops claims on partitions that no longer exist or topics no longer subscribed, and double claims', () => {
    const members: StickyMember[] = [
      { id: 'a', topics: ['t'], owned: [tp('t', 0), tp('t', 9), tp('gone', 0)] },
      { id: 'b', topics: ['t'], owned: [tp('t', 0), tp('t', 1)] },
    ];
    const result = assignSticky(members, () => 4);
    assertComplete(
      result,
      range(4).map((p) => `t/${p}`),
    );
    assert.ok(
      names(result.get('a')).includes('t/0'),
      'the first claimant in id order keeps a doubly claimed one',
    );
    assert.ok(names(result.get('b')).includes('t/1'));
  });

  it('gives a partition only to members subscribed to its topic', () => {
    const members: StickyMember[] = [
      { id: 'a', topics: ['x'], owned: [] },
      { id: 'b', topics: ['x', 'y'], owned: [] },
    ];
    const result = assignSticky(members, (t) => (t === 'x' ? 2 : 2));
    for (const p of names(result.get('a'))) assert.ok(p.startsWith('x/'));
    assert.deepEqual([...result.values()].flatMap(names).sort(), ['x/0', 'x/1', 'y/0', 'y/1']);
  });

  it('returns an empty list for every member when there is nothing to assign', () => {
    const result = assignSticky([{ id: 'a', topics: ['t'], owned: [tp('t', 0)] }], () => 0);
    assert.deepEqual(result, new Map([['a', []]]));
  });

  it('moves the fewest partitions possible over many random groups (seeded)', () => {
    const random = rng(848);
    for (let round = 0; round < 300; round++) {
      const total = 1 + Math.floor(random() * 24);
      const memberCount = 1 + Math.floor(random() * 6);
      const ids = range(memberCount).map((i) => `m${Math.floor(random() * 1e6)}-${i}`);
      // Spread the partitions over the previous members (some now gone), leaving some unowned.
      const owned = new Map<string, TopicPartition[]>(ids.map((id) => [id, []]));
      for (let p = 0; p < total; p++) {
        const r = Math.floor(random() * (memberCount + 2));
        if (r < memberCount) owned.get(ids[r]!)!.push(tp('t', p));
      }
      const members = ids.map((id) => ({ id, topics: ['t'], owned: owned.get(id)! }));
      const result = assignSticky(members, () => total);
      assertComplete(
        result,
        range(total).map((p) => `t/${p}`),
      );
      const unowned = total - members.reduce((n, m) => n + m.owned.length, 0);
      const lowerBound = fewestMoves(
        members.map((m) => m.owned.length),
        total,
      );
      assert.equal(
        moved(members, result, total),
        lowerBound,
        `round ${round}: ${memberCount} members, ${total} partitions, ${unowned} unowned`,
      );
    }
  });
});
