import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createMessage,
  Dispatcher,
  type DispatcherOptions,
  type DropReason,
  MemoryQueue,
  type Message,
  type TransportResponse,
} from '@tracklane/sdk-core';

const msg = (id: string, properties?: Record<string, unknown>) =>
  createMessage('track', { userId: 'u', event: 'E', messageId: id, properties }, { name: 't', version: '0' });

type Reply = TransportResponse | 'network-error';

/** A transport scripted with replies (then 200s), recording every request and when it was made. */
function harness(replies: Reply[] = [], options: Partial<DispatcherOptions> = {}) {
  const requests: { ids: string[]; at: number }[] = [];
  const drops: { ids: string[]; reason: DropReason }[] = [];
  const warnings: string[] = [];
  const queue = new MemoryQueue(1000);
  const dispatcher = new Dispatcher({
    queue,
    transport: {
      async send(batch: Message[]) {
        requests.push({ ids: batch.map((m) => m.messageId), at: Date.now() });
        const reply = replies.shift() ?? { status: 200 };
        if (reply === 'network-error') throw new TypeError('fetch failed');
        return reply;
      },
    },
    flushAt: 1000,
    flushInterval: 60_000,
    backoff: { minMs: 1, maxMs: 5 },
    warn: (m) => warnings.push(m),
    onDrop: (ms, reason) => drops.push({ ids: ms.map((m) => m.messageId), reason }),
    ...options,
  });
  return { dispatcher, queue, requests, drops, warnings };
}

describe('Dispatcher batching', () => {
  it('sends as soon as flushAt messages are queued', async () => {
    const { dispatcher, requests } = harness([], { flushAt: 3 });
    dispatcher.enqueue(msg('a'));
    dispatcher.enqueue(msg('b'));
    assert.equal(requests.length, 0);
    dispatcher.enqueue(msg('c'));
    await dispatcher.flush();
    assert.deepEqual(requests[0]?.ids, ['a', 'b', 'c']);
  });

  it('sends after flushInterval when fewer than flushAt are queued', async () => {
    const { dispatcher, requests, queue } = harness([], { flushInterval: 30 });
    const start = Date.now();
    dispatcher.enqueue(msg('a'));
    while (queue.size > 0) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(requests[0]?.ids, ['a']);
    assert.ok(requests[0]!.at - start >= 25);
  });

  it('splits a flush into requests of at most maxBatchSize and maxBatchBytes', async () => {
    const { dispatcher, requests } = harness([], { maxBatchSize: 2, maxBatchBytes: 100_000 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) dispatcher.enqueue(msg(id));
    await dispatcher.flush();
    assert.deepEqual(
      requests.map((r) => r.ids),
      [['a', 'b'], ['c', 'd'], ['e']],
    );

    const big = harness([], { maxBatchBytes: 3000 });
    for (const id of ['a', 'b', 'c']) big.dispatcher.enqueue(msg(id, { pad: 'x'.repeat(1200) }));
    await big.dispatcher.flush();
    assert.deepEqual(
      big.requests.map((r) => r.ids),
      [['a', 'b'], ['c']],
    );
  });

  it('keeps a message queued until the collector acknowledged it', async () => {
    let release: (r: TransportResponse) => void = () => {};
    const queue = new MemoryQueue(10);
    const dispatcher = new Dispatcher({
      queue,
      transport: { send: () => new Promise((r) => (release = r)) },
      flushAt: 100,
    });
    dispatcher.enqueue(msg('a'));
    const done = dispatcher.flush();
    assert.equal(queue.size, 1);
    assert.ok(dispatcher.inflight.has('a'));
    assert.deepEqual(dispatcher.pendingBatches(60_000), []);
    release({ status: 200 });
    await done;
    assert.equal(queue.size, 0);
  });
});

describe('Dispatcher retries', () => {
  it('retries 503, 429, 500 and network errors until delivered, in order', async () => {
    const { dispatcher, requests, drops } = harness([
      { status: 503 },
      { status: 429 },
      'network-error',
      { status: 500 },
    ]);
    dispatcher.enqueue(msg('a'));
    dispatcher.enqueue(msg('b'));
    await dispatcher.flush();
    assert.equal(requests.length, 5);
    for (const r of requests) assert.deepEqual(r.ids, ['a', 'b']);
    assert.deepEqual(drops, []);
  });

  it('waits at least Retry-After before retrying, even when backoff would be shorter', async () => {
    const { dispatcher, requests } = harness([{ status: 429, retryAfter: '1' }]);
    dispatcher.enqueue(msg('a'));
    await dispatcher.flush();
    assert.equal(requests.length, 2);
    assert.ok(requests[1]!.at - requests[0]!.at >= 990, `waited ${requests[1]!.at - requests[0]!.at} ms`);
  });

  it('backs off exponentially with jitter between attempts', async () => {
    const { dispatcher, requests } = harness(
      [{ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }],
      { backoff: { minMs: 20, maxMs: 10_000 }, random: () => 0.99 },
    );
    dispatcher.enqueue(msg('a'));
    await dispatcher.flush();
    const gaps = requests.slice(1).map((r, i) => r.at - requests[i]!.at);
    // 0.99 * 20 * 2^n: ~20, 40, 79, 158 ms.
    // Lower bounds only: a loaded machine fires timers late, never early.
    const floors = [19, 39, 79, 158].map((ms) => ms - 2);
    for (const [i, gap] of gaps.entries()) assert.ok(gap >= floors[i]!, `gaps ${gaps}`);
  });

  it('cuts a backoff wait short on retryNow (browser back online)', async () => {
    const { dispatcher, requests } = harness([{ status: 503, retryAfter: '30' }]);
    dispatcher.enqueue(msg('a'));
    const done = dispatcher.flush();
    await new Promise((r) => setTimeout(r, 20));
    dispatcher.retryNow();
    await done;
    assert.equal(requests.length, 2);
  });

  it('drops a batch after maxRetries and moves on to the next', async () => {
    const { dispatcher, requests, drops, warnings } = harness(
      [{ status: 503 }, { status: 503 }, { status: 503 }],
      { maxRetries: 2, maxBatchSize: 1 },
    );
    dispatcher.enqueue(msg('a'));
    dispatcher.enqueue(msg('b'));
    await dispatcher.flush();
    assert.deepEqual(drops, [{ ids: ['a'], reason: 'retries-exhausted' }]);
    assert.deepEqual(
      requests.map((r) => r.ids[0]),
      ['a', 'a', 'a', 'b'],
    );
    assert.match(warnings[0]!, /dropped 1 event/);
  });
});

describe('Dispatcher rejections', () => {
  it('does not retry a 401 or 400: drops with a warning naming the status', async () => {
    const { dispatcher, requests, drops, warnings, queue } = harness([
      { status: 401, body: '{"error":{"code":"E_UNAUTHORIZED"}}' },
    ]);
    dispatcher.enqueue(msg('a'));
    await dispatcher.flush();
    assert.equal(requests.length, 1);
    assert.deepEqual(drops, [{ ids: ['a'], reason: 'rejected' }]);
    assert.match(warnings[0]!, /HTTP 401.*E_UNAUTHORIZED/);
    assert.equal(queue.size, 0);
  });

  it('drops only the events a 400 names and resends the rest', async () => {
    const body = JSON.stringify({
      error: { code: 'E_INVALID', fields: [{ path: '/batch/1/event', message: 'x' }] },
    });
    const { dispatcher, requests, drops } = harness([{ status: 400, body }]);
    for (const id of ['a', 'b', 'c']) dispatcher.enqueue(msg(id));
    await dispatcher.flush();
    assert.deepEqual(drops, [{ ids: ['b'], reason: 'rejected' }]);
    assert.deepEqual(requests[1]?.ids, ['a', 'c']);
  });

  it('halves the batch on 413 and drops a single event that is still too large', async () => {
    const { dispatcher, requests, drops } = harness([{ status: 413 }, { status: 413 }, { status: 413 }]);
    for (const id of ['a', 'b', 'c', 'd']) dispatcher.enqueue(msg(id));
    await dispatcher.flush();
    assert.deepEqual(
      requests.map((r) => r.ids),
      // After a 413 the smaller size is kept until a request succeeds.
      [['a', 'b', 'c', 'd'], ['a', 'b'], ['a'], ['b'], ['c', 'd']],
    );
    assert.deepEqual(drops, [{ ids: ['a'], reason: 'too-large' }]);
  });

  it('reports messages the bounded queue dropped', () => {
    const queue = new MemoryQueue(2);
    const dropped: string[] = [];
    const dispatcher = new Dispatcher({
      queue,
      transport: { send: async () => ({ status: 200 }) },
      flushAt: 100,
      flushInterval: 60_000,
      onDrop: (ms, reason) => dropped.push(`${ms[0]!.messageId}:${reason}`),
    });
    for (const id of ['a', 'b', 'c']) dispatcher.enqueue(msg(id));
    assert.deepEqual(dropped, ['a:queue-full']);
    queue.clear();
    void dispatcher.flush();
  });
});
