import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { partitionForKey } from '@tracklane/log';
import { Placement } from '../src/placement.ts';

describe('Kafka placement', () => {
  it('places keyed records on the same partitions as the embedded log (murmur2)', () => {
    const placement = new Placement(6);
    for (const key of ['user-1', 'user-2', 'héllo', '']) {
      assert.equal(
        placement.partitionOf({ key, value: new Uint8Array() }, undefined),
        partitionForKey(key, 6),
      );
    }
  });

  it('places a keyless record with a message id by the id, so retries land together', () => {
    const placement = new Placement(6);
    const record = { value: new Uint8Array(), headers: { 'message-id': 'm-42' } };
    assert.equal(placement.partitionOf(record, undefined), partitionForKey('m-42', 6));
    assert.equal(placement.partitionOf(record, undefined), partitionForKey('m-42', 6));
  });

  it('spreads other keyless records round-robin and lets an explicit partition win', () => {
    const placement = new Placement(3);
    const seen = Array.from({ length: 6 }, () =>
      placement.partitionOf({ value: new Uint8Array() }, undefined),
    );
    assert.deepEqual(seen, [0, 1, 2, 0, 1, 2]);
    assert.equal(placement.partitionOf({ key: 'user-1', value: new Uint8Array() }, 2), 2);
  });
});
