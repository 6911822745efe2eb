import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { partitionForKey } from '../src/index.ts';
import { murmur2 } from '../src/partitioner.ts';

describe('key partitioner (Kafka murmur2 over UTF-8 bytes)', () => {
  it('hashes as Kafka does (the cases of Kafka’s own UtilsTest)', () => {
    const utf8 = (s: string) => new TextEncoder().encode(s);
    assert.equal(murmur2(utf8('21')), -973932308);
    assert.equal(murmur2(utf8('foobar')), -790332482);
    assert.equal(murmur2(utf8('a-little-bit-long-string')), -985981536);
    assert.equal(murmur2(utf8('a-little-bit-longer-string')), -1486304829);
    assert.equal(murmur2(utf8('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')), -58897971);
    assert.equal(murmur2(new Uint8Array([0x61, 0x62, 0x63])), 479470107);
  });

  it('puts string keys on the partitions they have always had, ASCII or not', () => {
    // Pinned from the TextEncoder-based implementation: a key must never move to another partition.
    const pinned: [string, number, number, number][] = [
      ['', 1, 2, 217],
      ['a', 0, 5, 636],
      ['ab', 2, 0, 554],
      ['abc', 3, 4, 539],
      ['user-1', 0, 3, 716],
      ['anon-17', 2, 0, 530],
      ['héllo', 2, 2, 458],
      ['ユーザー', 3, 2, 979],
      ['😀-emoji', 0, 6, 188],
      ['a\u0000b', 1, 5, 585],
      ['ß€𝄞x', 1, 6, 437],
      ['lone\ud800surrogate', 2, 2, 678],
    ];
    for (const [key, p4, p7, p1024] of pinned) {
      assert.deepEqual(
        [partitionForKey(key, 4), partitionForKey(key, 7), partitionForKey(key, 1024)],
        [p4, p7, p1024],
        JSON.stringify(key),
      );
    }
  });

  it('gives a string key the partition of its UTF-8 bytes, for keys of every length and script', () => {
    const alphabet = [
      'a',
      'Z',
      '0',
      '-',
      'é',
      'ß',
      '€',
      'ユ',
      '😀',
      '\u0000',
      '\u007f',
      '\u0080',
      '\u07ff',
      '\u0800',
    ];
    let seed = 7;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const encoder = new TextEncoder();
    for (let i = 0; i < 5_000; i++) {
      let key = '';
      const length = random(40);
      for (let c = 0; c < length; c++) key += alphabet[random(alphabet.length)];
      assert.equal(
        partitionForKey(key, 1 << 30),
        partitionForKey(encoder.encode(key), 1 << 30),
        JSON.stringify(key),
      );
    }
  });
});
