import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assignRoundRobin, type MemberInfo } from '../src/assignment.ts';

const member = (memberId: string, joined: number, topics: Record<string, number>): MemberInfo => ({
  memberId,
  joined,
  topics,
});

const flat = (m: Map<string, { topic: string; partition: number }[]>) =>
  Object.fromEntries([...m].map(([id, tps]) => [id, tps.map((tp) => `${tp.topic}/${tp.partition}`)]));

describe('round-robin assignment', () => {
  it('deals partitions to members in join order, whatever order the list arrives in', () => {
    const a = member('a', 1, { t: 4 });
    const b = member('b', 2, { t: 4 });
    const expected = { a: ['t/0', 't/2'], b: ['t/1', 't/3'] };
    assert.deepEqual(flat(assignRoundRobin([a, b])), expected);
    assert.deepEqual(flat(assignRoundRobin([b, a])), expected);
  });

  it('breaks join-time ties by member id and gives members only topics they subscribe to', () => {
    const x = member('x', 5, { t: 2, u: 1 });
    const y = member('y', 5, { t: 2 });
    assert.deepEqual(flat(assignRoundRobin([y, x])), { x: ['t/0', 'u/0'], y: ['t/1'] });
  });

  it('gives a lone member everything and leaves extra members idle', () => {
    assert.deepEqual(flat(assignRoundRobin([member('a', 1, { t: 2 })])), { a: ['t/0', 't/1'] });
    const three = assignRoundRobin([
      member('a', 1, { t: 2 }),
      member('b', 2, { t: 2 }),
      member('c', 3, { t: 2 }),
    ]);
    assert.deepEqual(flat(three), { a: ['t/0'], b: ['t/1'], c: [] });
  });
});
