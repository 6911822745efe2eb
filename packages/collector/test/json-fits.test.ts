import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonFits } from '../src/json-fits.ts';

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('jsonFits (size bound without serialising)', () => {
  it('never says an event fits when its JSON is larger than the limit', () => {
    const values: unknown[] = [
      { event: 'x', properties: { big: 'a'.repeat(5_000) } },
      { s: '\u0001'.repeat(1_000) },
      { s: '😀'.repeat(1_000) },
      { s: '\ud800'.repeat(1_000) },
      { s: '"\\'.repeat(1_000) },
      [1e-308, -1.2345678901234567e-308, 123456789012345680000, true, false, null],
      Array.from({ length: 300 }, (_, i) => ({ [`k${i}`]: [i, `v${i}`, null] })),
      { nested: { deeper: { deepest: ['é'.repeat(100), { ключ: 'значение' }] } } },
    ];
    for (const value of values) {
      const size = bytes(value);
      for (const limit of [size - 1, Math.floor(size / 2), 1]) {
        assert.equal(
          jsonFits(value, limit),
          false,
          `${JSON.stringify(value).slice(0, 40)} at ${limit} of ${size}`,
        );
      }
    }
  });

  it('says a typical event fits a limit a few times its size', () => {
    const event = {
      type: 'track',
      event: 'Product Viewed',
      userId: 'user-42',
      messageId: '9b2f7c1e-3a55-4d2e-8c1a-1f0e6d7b9a01',
      properties: { sku: 'sku-1', price: 19.99, currency: 'EUR', tags: ['a', 'b'], gift: false, note: null },
      context: { page: { url: 'https://shop.example/p/1?utm_source=bench' }, locale: 'fr-FR' },
      timestamp: '2026-01-01T00:00:00.000Z',
    };
    assert.equal(jsonFits(event, 8 * bytes(event)), true);
    assert.equal(jsonFits(event, 32 * 1024), true);
    assert.equal(jsonFits({}, 2), true);
    assert.equal(jsonFits([], 2), true);
  });

  it('measures only own enumerable properties, as JSON.stringify does, and gives up on toJSON', () => {
    const proto = { inherited: 'x'.repeat(10_000) };
    const value = Object.create(proto) as Record<string, unknown>;
    value.own = 'y';
    Object.defineProperty(value, 'hidden', { value: 'z'.repeat(10_000), enumerable: false });
    assert.equal(jsonFits(value, 100), true);
    assert.equal(jsonFits({ at: new Date(0) }, 10_000), false, 'toJSON output is not bounded here');
  });
});
