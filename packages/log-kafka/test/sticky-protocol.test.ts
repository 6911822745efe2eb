import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterMetadata, ExtendedGroupProtocolSubscription } from '@platformatic/kafka';
import {
  decodeOwned,
  encodeOwned,
  STICKY_PROTOCOL,
  StickySubscription,
  stickyPartitionAssigner,
} from '../src/sticky-protocol.ts';

function metadata(partitions: Record<string, number>): ClusterMetadata {
  return {
    id: 'cluster',
    brokers: new Map(),
    controllerId: 1,
    lastUpdate: 0,
    topics: new Map(
      Object.entries(partitions).map(([topic, n]) => [
        topic,
        { id: topic, partitions: [], partitionsCount: n, lastUpdate: 0 },
      ]),
    ),
  };
}

function member(memberId: string, owned: Record<string, number[]>): ExtendedGroupProtocolSubscription {
  const list = Object.entries(owned).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })));
  return { memberId, version: 1, topics: ['ns.events'], metadata: encodeOwned(list) };
}

describe('the classic-protocol sticky subscription', () => {
  it('round-trips owned partitions through the subscription user data', () => {
    const owned = [
      { topic: 'ns.events', partition: 3 },
      { topic: 'ns.events', partition: 1 },
      { topic: 'ns.dead-letter', partition: 0 },
    ];
    assert.deepEqual(
      decodeOwned(encodeOwned(owned))
        .map((tp) => `${tp.topic}/${tp.partition}`)
        .sort(),
      ['ns.dead-letter/0', 'ns.events/1', 'ns.events/3'],
    );
  });

  it('reads user data it does not understand as owning nothing', () => {
    for (const data of [
      undefined,
      null,
      Buffer.alloc(0),
      Buffer.from([0, 1, 2]),
      '{"v":9,"owned":{}}',
      '[]',
    ]) {
      assert.deepEqual(decodeOwned(data), []);
    }
    assert.deepEqual(decodeOwned('{"v":1,"owned":{"t":[0,"x",1.5]}}'), [{ topic: 't', partition: 0 }]);
  });

  it('offers the sticky protocol first and round-robin second, both carrying what the member owns', () => {
    const subscription = new StickySubscription();
    const before = subscription.protocols;
    assert.deepEqual(
      before.map((p) => p.name),
      [STICKY_PROTOCOL, 'roundrobin'],
    );
    subscription.update([{ topic: 'ns.events', partition: 2 }]);
    // The same objects the client holds (it re-encodes them on every JoinGroup) now carry the new data.
    assert.equal(subscription.protocols, before);
    for (const p of subscription.protocols) {
      assert.deepEqual(decodeOwned(p.metadata as Buffer), [{ topic: 'ns.events', partition: 2 }]);
    }
  });

  it('as the leader, keeps each member on what it owns when a third member joins', () => {
    const members = new Map([
      ['m-a', member('m-a', { 'ns.events': [0, 1, 2] })],
      ['m-b', member('m-b', { 'ns.events': [3, 4, 5] })],
      ['m-c', member('m-c', {})],
    ]);
    const result = stickyPartitionAssigner(
      'm-a',
      members,
      new Set(['ns.events']),
      metadata({ 'ns.events': 6 }),
    );
    const of = (id: string) =>
      result.find((r) => r.memberId === id)?.assignments.get('ns.events')?.partitions ?? [];
    assert.equal(result.length, 3);
    assert.equal(of('m-c').length, 2);
    assert.equal(of('m-a').length + of('m-b').length, 4);
    for (const p of of('m-a')) assert.ok([0, 1, 2].includes(p));
    for (const p of of('m-b')) assert.ok([3, 4, 5].includes(p));
    assert.deepEqual([...of('m-a'), ...of('m-b'), ...of('m-c')].sort(), [0, 1, 2, 3, 4, 5]);
  });
});
