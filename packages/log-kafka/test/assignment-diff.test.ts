import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffAssignment, isChange } from '../src/assignment-diff.ts';

const tps = (...names: string[]) =>
  names.map((n) => {
    const [topic, partition] = n.split('/');
    return { topic: topic!, partition: Number(partition) };
  });
const flat = (list: { topic: string; partition: number }[]) => list.map((p) => `${p.topic}/${p.partition}`);

describe('diffing two assignments of one member', () => {
  it('splits an eager (whole new) assignment into added, revoked and kept', () => {
    const change = diffAssignment(tps('t/0', 't/1', 't/2'), tps('t/1', 't/2', 't/3', 'u/0'));
    assert.deepEqual(flat(change.added), ['t/3', 'u/0']);
    assert.deepEqual(flat(change.revoked), ['t/0']);
    assert.deepEqual(flat(change.kept), ['t/1', 't/2']);
    assert.ok(isChange(change));
  });

  it('sees one KIP-848 step at a time: a lone revocation, then a lone addition', () => {
    const revoke = diffAssignment(tps('t/0', 't/1'), tps('t/1'));
    assert.deepEqual([flat(revoke.added), flat(revoke.revoked), flat(revoke.kept)], [[], ['t/0'], ['t/1']]);
    const add = diffAssignment(tps('t/1'), tps('t/1', 't/5'));
    assert.deepEqual([flat(add.added), flat(add.revoked), flat(add.kept)], [['t/5'], [], ['t/1']]);
  });

  it('is no change when only the order differs, so listeners are not called', () => {
    const change = diffAssignment(tps('t/0', 'u/1'), tps('u/1', 't/0'));
    assert.equal(isChange(change), false);
    assert.deepEqual(flat(change.kept), ['u/1', 't/0']);
  });

  it('tells partitions of different topics apart and counts duplicates once', () => {
    const change = diffAssignment(tps('a/1', 'a/1'), tps('b/1', 'b/1'));
    assert.deepEqual(flat(change.added), ['b/1']);
    assert.deepEqual(flat(change.revoked), ['a/1']);
  });

  it('revokes everything when the member is fenced (empty assignment)', () => {
    const change = diffAssignment(tps('t/0', 't/1'), []);
    assert.deepEqual(flat(change.revoked), ['t/0', 't/1']);
    assert.deepEqual(change.kept, []);
  });
});
