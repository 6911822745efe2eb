import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateEvent } from '@tracklane/core';

describe('validateEvent', () => {
  it('accepts a minimal track call', () => {
    const result = validateEvent({ type: 'track', event: 'Signed Up', userId: 'u1' });
    assert.equal(result.ok, true);
  });

  it('names the field with the wrong type', () => {
    const result = validateEvent({ type: 'track', event: 5, userId: 'u1' }, '/batch/2');
    assert.equal(result.ok, false);
    assert.deepEqual(!result.ok && result.errors, [{ path: '/batch/2/event', message: 'Expected string' }]);
  });

  it('requires userId or anonymousId', () => {
    const result = validateEvent({ type: 'page', name: 'Home' });
    assert.equal(!result.ok && result.errors[0]?.message, 'either userId or anonymousId is required');
  });

  it('rejects unknown top-level fields and says where custom data goes', () => {
    const result = validateEvent({ type: 'identify', userId: 'u', email: 'a@b.c' });
    assert.equal(result.ok, false);
    assert.match(!result.ok ? (result.errors[0]?.message ?? '') : '', /unknown field 'email'.*traits/);
  });

  it('rejects an unknown type and lists the known ones', () => {
    const result = validateEvent({ type: 'click', userId: 'u' });
    assert.deepEqual(!result.ok && result.errors[0], {
      path: '/type',
      message: 'type must be one of track, page, screen, identify, group, alias',
    });
  });

  it('rejects a timestamp that is not ISO-8601', () => {
    const result = validateEvent({ type: 'track', event: 'x', userId: 'u', timestamp: 'yesterday' });
    assert.equal(!result.ok && result.errors[0]?.path, '/timestamp');
  });

  it('requires previousId and userId on alias', () => {
    const result = validateEvent({ type: 'alias', anonymousId: 'a' });
    assert.equal(result.ok, false);
    const paths = !result.ok ? result.errors.map((e) => e.path).sort() : [];
    assert.deepEqual(paths, ['/previousId', '/userId']);
  });

  it('rejects non-objects', () => {
    assert.equal(validateEvent([1, 2]).ok, false);
    assert.equal(validateEvent(null).ok, false);
  });
});
