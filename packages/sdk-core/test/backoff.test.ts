import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, parseRetryAfter } from '@tracklane/sdk-core';

describe('backoffDelay', () => {
  const opts = { minMs: 100, maxMs: 1000 };

  it('draws uniformly below a window that doubles per attempt (full jitter)', () => {
    assert.equal(
      backoffDelay(0, opts, () => 0),
      0,
    );
    assert.equal(
      backoffDelay(0, opts, () => 0.5),
      50,
    );
    assert.equal(
      backoffDelay(1, opts, () => 0.5),
      100,
    );
    assert.equal(
      backoffDelay(2, opts, () => 0.5),
      200,
    );
  });

  it('never exceeds maxMs however many attempts', () => {
    assert.equal(
      backoffDelay(30, opts, () => 0.999),
      999,
    );
    for (let i = 0; i < 1000; i++) assert.ok(backoffDelay(i % 40, opts) < 1000);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(' 0 '), 0);
  });

  it('reads an HTTP date relative to now', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Mon, 01 Jan 2024 00:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('Sun, 31 Dec 2023 23:00:00 GMT', now), 0);
  });

  it('ignores absent or garbage values and caps absurd ones', () => {
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter('999999'), 600_000);
  });
});
