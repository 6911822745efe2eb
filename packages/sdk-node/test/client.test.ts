import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { validateEvent } from '@tracklane/core';
import { Tracklane } from '@tracklane/node';
import { collectorStub } from './collector-stub.ts';

const fast = { backoff: { minMs: 5, maxMs: 50 }, flushInterval: 60_000, warn: () => {} };

describe('Tracklane (node) against an HTTP collector', () => {
  const stubs: { close(): Promise<void> }[] = [];
  after(() => Promise.all(stubs.map((s) => s.close())));
  async function stub(...args: Parameters<typeof collectorStub>) {
    const s = await collectorStub(...args);
    stubs.push(s);
    return s;
  }

  it('sends all six call types in one batch with Basic auth, as events the collector accepts', async () => {
    const c = await stub();
    const client = new Tracklane({ writeKey: 'wk_test', host: c.url, ...fast });
    client.track({ userId: 'u1', event: 'Order Completed', properties: { total: 42 } });
    client.page({ userId: 'u1', name: 'Pricing' });
    client.screen({ anonymousId: 'a1', name: 'Home' });
    client.identify({ userId: 'u1', traits: { plan: 'pro' } });
    client.group({ userId: 'u1', groupId: 'acme' });
    client.alias({ userId: 'u1', previousId: 'a1' });
    await client.close();

    assert.equal(c.requests.length, 1);
    const [req] = c.requests;
    assert.equal(req?.authorization, `Basic ${Buffer.from('wk_test:').toString('base64')}`);
    assert.equal(req?.contentType, 'application/json');
    assert.ok(!Number.isNaN(Date.parse(req!.body.sentAt)));
    assert.deepEqual(
      req?.body.batch.map((e) => e.type),
      ['track', 'page', 'screen', 'identify', 'group', 'alias'],
    );
    for (const e of req!.body.batch) assert.equal(validateEvent(e).ok, true);
    assert.deepEqual(req?.body.batch[0]?.context, { library: { name: '@tracklane/node', version: '0.1.0' } });
  });

  it('retries 503 and 429, honouring Retry-After, and delivers each event exactly once', async () => {
    const c = await stub([
      { status: 503, headers: { 'retry-after': '1' } },
      { status: 429, headers: { 'retry-after': '0' } },
    ]);
    const client = new Tracklane({ writeKey: 'k', host: c.url, ...fast });
    const started = Date.now();
    const ids = [client.track({ userId: 'u', event: 'A' }), client.track({ userId: 'u', event: 'B' })];
    await client.flush();
    assert.ok(Date.now() - started >= 990, 'waited for Retry-After: 1');
    assert.equal(c.attempts.length, 2);
    for (const a of c.attempts)
      assert.deepEqual(
        a.batch.map((e) => e.messageId),
        ids,
      );
    assert.deepEqual(
      c.events().map((e) => e.messageId),
      ids,
    );
    await client.close();
  });

  it('retries while the collector is unreachable and delivers once it is back', async () => {
    const c = await stub();
    const url = c.url;
    await c.close();
    const client = new Tracklane({ writeKey: 'k', host: url, ...fast, maxRetries: 1000 });
    client.track({ userId: 'u', event: 'Offline' });
    const flushed = client.flush();
    await new Promise((r) => setTimeout(r, 150));
    const port = Number(new URL(url).port);
    const { createServer } = await import('node:http');
    const got: string[] = [];
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d) => (raw += d));
      req.on('end', () => {
        got.push(...JSON.parse(raw).batch.map((e: { event: string }) => e.event));
        res.end('{"success":true}');
      });
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    await flushed;
    await client.close();
    server.closeAllConnections();
    server.close();
    assert.deepEqual(got, ['Offline']);
  });

  it('delivers everything queued on close, across several batches', async () => {
    const c = await stub();
    const client = new Tracklane({ writeKey: 'k', host: c.url, ...fast, flushAt: 1000, maxBatchSize: 10 });
    for (let i = 0; i < 35; i++) client.track({ userId: 'u', event: `E${i}` });
    assert.equal(c.requests.length, 0);
    await client.close();
    assert.equal(c.requests.length, 4);
    assert.equal(c.events().length, 35);
    assert.equal(client.queued, 0);
  });

  it('drops the oldest events when the queue is full and reports them', async () => {
    const c = await stub();
    const dropped: string[] = [];
    const client = new Tracklane({
      writeKey: 'k',
      host: c.url,
      ...fast,
      flushAt: 1000,
      maxQueueSize: 5,
      onDrop: (events, reason) =>
        dropped.push(...events.map((e) => `${(e as { event: string }).event}:${reason}`)),
    });
    for (let i = 0; i < 8; i++) client.track({ userId: 'u', event: `E${i}` });
    assert.deepEqual(dropped, ['E0:queue-full', 'E1:queue-full', 'E2:queue-full']);
    await client.close();
    assert.deepEqual(
      c.events().map((e) => e.event),
      ['E3', 'E4', 'E5', 'E6', 'E7'],
    );
  });

  it('does not retry a 400 or 401: drops the batch with a warning', async () => {
    const c = await stub([
      { status: 401, body: '{"error":{"code":"E_UNAUTHORIZED","message":"bad write key"}}' },
    ]);
    const warnings: string[] = [];
    const client = new Tracklane({ writeKey: 'bad', host: c.url, ...fast, warn: (m) => warnings.push(m) });
    client.track({ userId: 'u', event: 'E' });
    await client.close();
    assert.equal(c.attempts.length, 1);
    assert.equal(c.requests.length, 0);
    assert.match(warnings.join('\n'), /dropped 1 event.*HTTP 401.*bad write key/);
  });

  it('gives up after maxRetries and reports the dropped batch', async () => {
    const c = await stub([{ status: 500 }, { status: 500 }, { status: 500 }]);
    const reasons: string[] = [];
    const client = new Tracklane({
      writeKey: 'k',
      host: c.url,
      ...fast,
      maxRetries: 2,
      onDrop: (_e, reason) => reasons.push(reason),
    });
    client.track({ userId: 'u', event: 'E' });
    await client.close();
    assert.equal(c.attempts.length, 3);
    assert.deepEqual(reasons, ['retries-exhausted']);
  });

  it('throws at the call site when neither userId nor anonymousId is given', () => {
    const client = new Tracklane({ writeKey: 'k', host: 'http://127.0.0.1:1', ...fast });
    assert.throws(() => client.track({ event: 'E' }), /userId or anonymousId is required/);
    void client.close();
  });

  it('flushes on beforeExit when the program forgot to close()', async () => {
    const c = await stub();
    const script = join(import.meta.dirname, 'fixtures', 'forgets-to-close.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', script, c.url], { stdio: 'inherit' });
    const code = await new Promise((r) => child.on('exit', r));
    assert.equal(code, 0);
    assert.deepEqual(
      c.events().map((e) => e.event),
      ['Exiting'],
    );
  });
});
