import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BATCH_HEADER_SIZE,
  decodeBatch,
  encodeBatch,
  type ReadBudget,
  readBatchHeader,
  verifyBatch,
} from '../src/embedded/record-batch.ts';

const budget = (): ReadBudget => ({
  out: [],
  maxRecords: Number.POSITIVE_INFINITY,
  bytesLeft: Number.POSITIVE_INFINITY,
});

describe('record batch format', () => {
  const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const encoded = encodeBatch(
    [
      { key: 'k1', value: binary, headers: { a: '1', ü: '✓' }, timestamp: 1_700_000_000_123 },
      { key: null, value: Buffer.from('second'), timestamp: 5 },
      { key: new Uint8Array([9, 8]), value: new Uint8Array(0) },
    ],
    2 ** 40 + 7,
    1_000,
    1 << 20,
  );

  it('round-trips keys, values, headers, timestamps and a 64-bit base offset', () => {
    const buf = encoded.buffer;
    const header = readBatchHeader(buf, 0, buf.length);
    assert.ok(header);
    assert.equal(header.batchLength, buf.length);
    assert.equal(header.baseOffset, 2 ** 40 + 7);
    assert.equal(header.recordCount, 3);
    assert.equal(header.firstTimestamp, 1_700_000_000_123);
    assert.equal(header.maxTimestamp, 1_700_000_000_123);
    assert.equal(encoded.maxTimestamp, 1_700_000_000_123);
    assert.ok(verifyBatch(buf, 0, header));
    const b = budget();
    decodeBatch(buf, 0, header, 't', 3, 0, b);
    assert.deepEqual(
      b.out.map((r) => [r.offset, r.key && [...r.key], [...r.value].length, r.headers, r.timestamp]),
      [
        [2 ** 40 + 7, [...Buffer.from('k1')], 256, { a: '1', ü: '✓' }, 1_700_000_000_123],
        [2 ** 40 + 8, null, 6, {}, 5],
        [2 ** 40 + 9, [9, 8], 0, {}, 1_000],
      ],
    );
    assert.deepEqual(b.out[0]!.value, binary);
    assert.equal(b.out[0]!.topic, 't');
    assert.equal(b.out[0]!.partition, 3);
  });

  it('skips records before the requested offset', () => {
    const header = readBatchHeader(encoded.buffer, 0, encoded.buffer.length)!;
    const b = budget();
    decodeBatch(encoded.buffer, 0, header, 't', 0, 2 ** 40 + 9, b);
    assert.deepEqual(
      b.out.map((r) => r.offset),
      [2 ** 40 + 9],
    );
  });

  it('detects a flipped bit anywhere after the CRC field', () => {
    for (const at of [16, 20, 30, BATCH_HEADER_SIZE + 3, encoded.buffer.length - 1]) {
      const copy = Buffer.from(encoded.buffer);
      copy[at]! ^= 0x10;
      const header = readBatchHeader(copy, 0, copy.length);
      assert.ok(header === null || !verifyBatch(copy, 0, header), `flip at byte ${at}`);
    }
  });

  it('rejects headers with a bad magic or a length beyond the available bytes', () => {
    const copy = Buffer.from(encoded.buffer);
    assert.equal(readBatchHeader(copy, 0, copy.length - 1), null);
    assert.equal(readBatchHeader(copy, 0, BATCH_HEADER_SIZE - 1), null);
    copy[0] = 0;
    assert.equal(readBatchHeader(copy, 0, copy.length), null);
  });

  it('refuses a record above maxRecordBytes with E_RECORD_TOO_LARGE', () => {
    assert.throws(
      () => encodeBatch([{ value: Buffer.alloc(2000) }], 0, 0, 1000),
      (err: { code?: string }) => err.code === 'E_RECORD_TOO_LARGE',
    );
  });
});
