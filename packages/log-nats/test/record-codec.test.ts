import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRecord, encodeRecord } from '../src/record-codec.ts';

describe('NATS record codec', () => {
  it('round-trips binary keys, free-form headers, timestamps and values', () => {
    const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const encoded = encodeRecord(
      { key: new Uint8Array([0, 255]), value, headers: { 'Content Type: x': '🚀' }, timestamp: 1234 },
      99,
    );
    const r = decodeRecord('t', 2, 7, encoded);
    assert.deepEqual([r.topic, r.partition, r.offset, r.timestamp], ['t', 2, 7, 1234]);
    assert.deepEqual(r.key, Buffer.from([0, 255]));
    assert.deepEqual(r.headers, { 'Content Type: x': '🚀' });
    assert.deepEqual(r.value, value);
  });

  it('tells a null key from an empty one and defaults the timestamp', () => {
    const none = decodeRecord('t', 0, 0, encodeRecord({ value: new Uint8Array(0) }, 42));
    assert.equal(none.key, null);
    assert.equal(none.timestamp, 42);
    assert.deepEqual(none.headers, {});
    assert.equal(none.value.length, 0);
    const empty = decodeRecord('t', 0, 0, encodeRecord({ key: '', value: new Uint8Array(1) }, 42));
    assert.deepEqual(empty.key, Buffer.alloc(0));
  });

  it('writes multi-byte string keys and headers at their UTF-8 length', () => {
    const encoded = encodeRecord(
      { key: 'ü-🚀', value: Buffer.from('v'), headers: { 'message-id': 'é🚀' } },
      1,
    );
    const r = decodeRecord('t', 0, 0, encoded);
    assert.deepEqual(r.key, Buffer.from('ü-🚀'));
    assert.deepEqual(r.headers, { 'message-id': 'é🚀' });
    assert.equal(r.value.toString(), 'v');
    // The record is exactly as long as its parts: no slack left from measuring strings as UTF-16.
    assert.equal(
      encoded.length,
      17 + Buffer.byteLength('ü-🚀') + Buffer.byteLength('{"message-id":"é🚀"}') + 1,
    );
  });

  it('rejects a message that another client published on the subject', () => {
    assert.throws(() => decodeRecord('t', 0, 5, Buffer.from('hello world, not ours')), {
      code: 'E_CORRUPT_RECORD',
    });
  });
});
