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
      17 + Buffer.byteLength('ü-🚀') + 2 + Buffer.byteLength('message-id') + 4 + Buffer.byteLength('é🚀') + 1,
    );
  });

  it('still reads records written with JSON headers (version 1), as stored before version 2', () => {
    // Version 1 as encodeRecord wrote it: u8 1 | f64 timestamp | i32 keyLength | key | u32 length | JSON | value.
    const json = Buffer.from('{"message-id":"é🚀","__proto__":"x"}');
    const v1 = Buffer.concat([
      Buffer.from([1]),
      Buffer.alloc(8),
      Buffer.from([0, 0, 0, 1]),
      Buffer.from('k'),
      Buffer.alloc(4),
      json,
      Buffer.from('value'),
    ]);
    v1.writeDoubleBE(1234, 1);
    v1.writeUInt32BE(json.length, 14);
    const r = decodeRecord('t', 0, 3, v1);
    assert.deepEqual([r.key?.toString(), r.value.toString(), r.timestamp], ['k', 'value', 1234]);
    assert.deepEqual(Object.entries(r.headers), [
      ['message-id', 'é🚀'],
      ['__proto__', 'x'],
    ]);
  });

  it('keeps a header named __proto__ as a header, as JSON did', () => {
    const headers = JSON.parse('{"__proto__":"p","a":""}') as Record<string, string>;
    const r = decodeRecord('t', 0, 0, encodeRecord({ value: Buffer.from('v'), headers }, 1));
    assert.deepEqual(Object.entries(r.headers), [
      ['__proto__', 'p'],
      ['a', ''],
    ]);
    assert.equal(Object.getPrototypeOf(r.headers), Object.prototype);
  });

  it('refuses a record whose headers run past their length, or past the message', () => {
    const good = Buffer.from(encodeRecord({ value: Buffer.from('v'), headers: { name: 'value' } }, 1));
    const cut = Buffer.from(good);
    cut.writeUInt32BE(3, 13); // the headers' length now ends inside the first header
    assert.throws(() => decodeRecord('t', 0, 1, cut), { code: 'E_CORRUPT_RECORD' });
    assert.throws(() => decodeRecord('t', 0, 1, good.subarray(0, 20)), { code: 'E_CORRUPT_RECORD' });
    const newer = Buffer.from(good);
    newer[0] = 3;
    assert.throws(() => decodeRecord('t', 0, 1, newer), { code: 'E_CORRUPT_RECORD' });
  });

  it('builds the key and headers once, when first read, and keeps ones assigned like a plain record', () => {
    const encoded = encodeRecord({ key: 'k', value: Buffer.from('v'), headers: { a: '1' } }, 5);
    const r = decodeRecord('t', 0, 0, encoded);
    assert.equal(r.key, r.key);
    assert.equal(r.headers, r.headers);
    r.headers.b = '2';
    assert.deepEqual(r.headers, { a: '1', b: '2' });
    r.key = null;
    r.headers = { c: '3' };
    assert.equal(r.key, null);
    assert.deepEqual(r.headers, { c: '3' });
    // Another record with the same header name gets its own headers object and the same name.
    const other = decodeRecord('t', 0, 1, encodeRecord({ value: Buffer.from('w'), headers: { a: '9' } }, 5));
    assert.deepEqual(other.headers, { a: '9' });
  });

  it('shows every field of the record in JSON, though the key and headers are read on demand', () => {
    const r = decodeRecord(
      't',
      1,
      2,
      encodeRecord({ key: 'k', value: Buffer.from('v'), headers: { a: '1' } }, 5),
    );
    assert.deepEqual(JSON.parse(JSON.stringify(r)), {
      topic: 't',
      partition: 1,
      offset: 2,
      key: { type: 'Buffer', data: [107] },
      value: { type: 'Buffer', data: [118] },
      headers: { a: '1' },
      timestamp: 5,
    });
  });

  it('refuses a header name longer than 65535 bytes with E_BAD_ARGUMENT', () => {
    assert.throws(
      () => encodeRecord({ value: Buffer.from('v'), headers: { ['n'.repeat(70_000)]: 'x' } }, 1),
      {
        code: 'E_BAD_ARGUMENT',
      },
    );
  });

  it('rejects a message that another client published on the subject', () => {
    assert.throws(() => decodeRecord('t', 0, 5, Buffer.from('hello world, not ours')), {
      code: 'E_CORRUPT_RECORD',
    });
  });
});
