import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateEvent } from '@tracklane/core';
import { createMessage, uuid } from '@tracklane/sdk-core';

const lib = { name: 'test', version: '1.0.0' };

describe('createMessage', () => {
  it('builds each of the six call types as events the collector accepts', () => {
    const messages = [
      createMessage('track', { userId: 'u1', event: 'Clicked', properties: { a: 1 } }, lib),
      createMessage('page', { anonymousId: 'a1', name: 'Home' }, lib),
      createMessage('screen', { anonymousId: 'a1', name: 'Home' }, lib),
      createMessage('identify', { userId: 'u1', traits: { plan: 'pro' } }, lib),
      createMessage('group', { userId: 'u1', groupId: 'g1', traits: {} }, lib),
      createMessage('alias', { userId: 'u1', previousId: 'a1' }, lib),
    ];
    for (const m of messages) {
      const result = validateEvent(m);
      assert.equal(result.ok, true, JSON.stringify(!result.ok && result.errors));
    }
  });

  it('stamps a messageId, an ISO timestamp and context.library, keeping caller context', () => {
    const m = createMessage('track', { userId: 'u1', event: 'E', context: { ip: '1.2.3.4' } }, lib);
    assert.match(m.messageId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(Math.abs(Date.parse(m.timestamp) - Date.now()) < 5000);
    assert.deepEqual(m.context, { ip: '1.2.3.4', library: lib });
    assert.equal(m.type, 'track');
  });

  it('keeps a caller-supplied messageId and Date timestamp', () => {
    const at = new Date('2024-01-02T03:04:05.000Z');
    const m = createMessage('track', { userId: 'u', event: 'E', messageId: 'fixed', timestamp: at }, lib);
    assert.equal(m.messageId, 'fixed');
    assert.equal(m.timestamp, '2024-01-02T03:04:05.000Z');
  });
});

describe('uuid', () => {
  it('falls back to getRandomValues outside secure contexts (no randomUUID)', () => {
    const original = Object.getOwnPropertyDescriptor(globalThis, 'crypto')!;
    const real = globalThis.crypto;
    Object.defineProperty(globalThis, 'crypto', {
      configurable: true,
      value: { getRandomValues: (a: Uint8Array) => real.getRandomValues(a) },
    });
    try {
      const ids = new Set(Array.from({ length: 1000 }, () => uuid()));
      assert.equal(ids.size, 1000);
      for (const id of ids)
        assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    } finally {
      Object.defineProperty(globalThis, 'crypto', original);
    }
  });
});
