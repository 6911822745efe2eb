import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMessage, MemoryQueue } from '@tracklane/sdk-core';

const msg = (id: string) =>
  createMessage('track', { userId: 'u', event: 'E', messageId: id }, { name: 't', version: '0' });

describe('MemoryQueue', () => {
  it('drops the oldest message when full and returns it', () => {
    const q = new MemoryQueue(3);
    for (const id of ['a', 'b', 'c']) assert.equal(q.push(msg(id)), undefined);
    assert.equal(q.push(msg('d'))?.messageId, 'a');
    assert.deepEqual(
      q.peek(10).map((m) => m.messageId),
      ['b', 'c', 'd'],
    );
  });

  it('ignores a messageId that is already queued', () => {
    const q = new MemoryQueue(10);
    q.push(msg('a'));
    q.push(msg('a'));
    assert.equal(q.size, 1);
  });

  it('accepts a messageId again once it was removed', () => {
    const q = new MemoryQueue(10);
    q.push(msg('a'));
    q.remove(['a']);
    q.push(msg('a'));
    assert.equal(q.size, 1);
  });
});
