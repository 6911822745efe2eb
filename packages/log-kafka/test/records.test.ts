import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordsBatch } from '@platformatic/kafka';
import { recordsFromBatches } from '../src/records.ts';

function batch(firstOffset: number, values: string[], attributes = 0): RecordsBatch {
  return {
    firstOffset: BigInt(firstOffset),
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes,
    lastOffsetDelta: values.length - 1,
    firstTimestamp: 1_700_000_000_000n,
    maxTimestamp: 1_700_000_000_000n + BigInt(values.length),
    producerId: -1n,
    producerEpoch: -1,
    firstSequence: -1,
    records: values.map((v, i) => ({
      length: 0,
      attributes: 0,
      timestampDelta: BigInt(i),
      offsetDelta: i,
      key: i === 0 ? Buffer.from('k') : null,
      value: Buffer.from(v),
      headers: [[Buffer.from('h'), Buffer.from(`v${i}`)]],
    })),
  };
}

describe('Kafka fetch decoding', () => {
  it('skips records before the requested offset in the first batch and computes offsets and timestamps', () => {
    const records = recordsFromBatches(
      't',
      0,
      [batch(10, ['a', 'b', 'c']), batch(13, ['d'])],
      11,
      100,
      1 << 20,
    );
    assert.deepEqual(
      records.map((r) => [r.offset, r.value.toString(), r.timestamp, r.headers.h]),
      [
        [11, 'b', 1_700_000_000_001, 'v1'],
        [12, 'c', 1_700_000_000_002, 'v2'],
        [13, 'd', 1_700_000_000_000, 'v0'],
      ],
    );
    assert.equal(records[0]!.key, null);
    assert.deepEqual(recordsFromBatches('t', 0, [batch(10, ['a'])], 10, 1, 1)[0]!.key, Buffer.from('k'));
  });

  it('ignores control batches (transaction markers)', () => {
    const records = recordsFromBatches('t', 0, [batch(0, ['x'], 1 << 5), batch(1, ['y'])], 0, 100, 1 << 20);
    assert.deepEqual(
      records.map((r) => r.offset),
      [1],
    );
  });

  it('bounds by maxRecords and maxBytes but always returns one record', () => {
    const batches = [batch(0, ['aaaa', 'bbbb', 'cccc'])];
    assert.equal(recordsFromBatches('t', 0, batches, 0, 2, 1 << 20).length, 2);
    assert.equal(recordsFromBatches('t', 0, batches, 0, 100, 8).length, 2);
    assert.equal(recordsFromBatches('t', 0, batches, 0, 100, 1).length, 1);
  });
});
