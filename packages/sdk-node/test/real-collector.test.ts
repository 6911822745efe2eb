import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Tracklane } from '@tracklane/node';
import {
  freePort,
  makeTempDir,
  type TempDir,
  type TracklaneService,
  tracklaneService,
  waitFor,
} from '@tracklane/test-utils';

describe('Tracklane (node) against a real `tracklane start`', () => {
  let dataDir: TempDir;
  let server: TracklaneService;

  before(async () => {
    dataDir = await makeTempDir();
    server = tracklaneService({
      port: await freePort(),
      dataDir: dataDir.path,
      writeKey: 'wk_node',
      apiKey: 'ak_node',
    });
    await server.start();
  });
  after(async () => {
    await server?.stop();
    await dataDir?.remove();
  });

  const client = (extra = {}) =>
    new Tracklane({
      writeKey: 'wk_node',
      host: server.url,
      backoff: { minMs: 50, maxMs: 500 },
      maxRetries: 100,
      warn: () => {},
      ...extra,
    });

  it('stores every call type with its fields', async () => {
    const t = client();
    // Explicit timestamps order the rows (calls in one millisecond would tie) and test the option.
    const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i));
    t.track({ userId: 'n1', event: 'Order Completed', properties: { total: 42 }, timestamp: at(0) });
    t.page({ userId: 'n1', name: 'Checkout', timestamp: at(1) });
    t.identify({ userId: 'n1', traits: { plan: 'pro' }, timestamp: at(2) });
    t.group({ userId: 'n1', groupId: 'acme', timestamp: at(3) });
    t.alias({ userId: 'n1', previousId: 'anon-n1', timestamp: at(4) });
    await t.close();
    // A 200 means durable in the log; the storage writer makes events queryable a moment later.
    const rows = await waitFor(
      async () => {
        const r = await server.sql<{
          type: string;
          event: string;
          name: string;
          properties: string;
          traits: string;
        }>(
          "select type, event, name, properties, traits from events where user_id = 'n1' order by timestamp",
        );
        return r.length >= 5 && r;
      },
      { what: 'five stored events' },
    );
    assert.deepEqual(
      rows.map((r) => r.type),
      ['track', 'page', 'identify', 'group', 'alias'],
    );
    assert.equal(rows[0]?.event, 'Order Completed');
    assert.deepEqual(JSON.parse(String(rows[0]?.properties)), { total: 42 });
    assert.equal(rows[1]?.name, 'Checkout');
    assert.deepEqual(JSON.parse(String(rows[2]?.traits)), { plan: 'pro' });
  });

  it('delivers everything queued on close, in batches', async () => {
    const t = client({ flushAt: 1000, maxBatchSize: 50 });
    for (let i = 0; i < 250; i++) t.track({ userId: 'n2', event: 'Bulk', properties: { i } });
    await t.close();
    const row = await waitFor(
      async () => {
        const [r] = await server.sql<{ n: number }>(
          "select count(*)::int as n from events where user_id = 'n2'",
        );
        return Number(r?.n) >= 250 && r;
      },
      { what: '250 stored events' },
    );
    assert.equal(Number(row?.n), 250);
  });

  it('retries through a collector restart and stores each event exactly once', async () => {
    const t = client({ flushAt: 5 });
    for (let i = 0; i < 5; i++) t.track({ userId: 'n3', event: 'Before', properties: { i } });
    await t.flush();
    await server.stop();
    for (let i = 0; i < 12; i++) t.track({ userId: 'n3', event: 'During', properties: { i } });
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(t.queued > 0, 'events wait while the collector is down');
    await server.start();
    await t.close();
    const rows = await waitFor(
      async () => {
        const r = await server.sql<{ event: string; n: number }>(
          "select event, count(*)::int as n, count(distinct message_id)::int as d from events where user_id = 'n3' group by event order by event",
        );
        return r.length === 2 && r;
      },
      { what: 'events after restart' },
    );
    assert.deepEqual(
      rows.map((r) => ({ ...r, n: Number(r.n), d: Number((r as { d?: number }).d) })),
      [
        { event: 'Before', n: 5, d: 5 },
        { event: 'During', n: 12, d: 12 },
      ],
    );
  });
});
