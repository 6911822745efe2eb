import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { builtDashboard } from '@tracklane/dashboard';
import {
  freePort,
  makeTempDir,
  type TempDir,
  type TracklaneService,
  tracklaneService,
  waitFor,
} from '@tracklane/test-utils';

const API_KEY = 'ak_sources';
const auth = { authorization: `Bearer ${API_KEY}` };

describe('dashboard endpoints over real HTTP', () => {
  let dir: TempDir;
  let server: TracklaneService;
  before(async () => {
    dir = await makeTempDir();
    server = tracklaneService({
      port: await freePort(),
      dataDir: dir.path,
      writeKey: 'wk_config',
      apiKey: API_KEY,
    });
    await server.start();
  });
  after(async () => {
    await server.stop();
    await dir.remove();
  });

  const send = (writeKey: string) =>
    fetch(`${server.url}/v1/batch`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
      },
      body: JSON.stringify({ batch: [{ type: 'track', event: 'Ping', userId: 'u1' }] }),
    });
  const sources = async () =>
    (
      (await (await fetch(`${server.url}/api/sources`, { headers: auth })).json()) as {
        sources: { id: string; name: string; keyPreview: string; revocable: boolean }[];
      }
    ).sources;

  it('refuses every dashboard endpoint without the API key', async () => {
    for (const [method, path] of [
      ['GET', '/api/sources'],
      ['POST', '/api/sources'],
      ['DELETE', '/api/sources/src_x'],
      ['GET', '/api/pipeline'],
    ] as const) {
      const response = await fetch(`${server.url}${path}`, { method });
      assert.equal(response.status, 401, `${method} ${path}`);
    }
  });

  it('creates a write key that works at once, survives a restart, and stops working when revoked', async () => {
    const created = await fetch(`${server.url}/api/sources`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Shop' }),
    });
    assert.equal(created.status, 201);
    const { id, writeKey } = (await created.json()) as { id: string; writeKey: string };
    assert.equal((await send(writeKey)).status, 200);
    const listed = await sources();
    assert.deepEqual(
      listed.map((s) => [s.name, s.revocable]),
      [
        ['source 1', false],
        ['Shop', true],
      ],
    );
    assert.ok(!JSON.stringify(listed).includes(writeKey), 'the list shows no full key');

    await server.stop();
    await server.start();
    assert.equal((await send(writeKey)).status, 200, 'a created key outlives a restart');

    const revoked = await fetch(`${server.url}/api/sources/${id}`, { method: 'DELETE', headers: auth });
    assert.equal(revoked.status, 204);
    assert.equal((await send(writeKey)).status, 401);
    await server.stop();
    await server.start();
    assert.equal((await send(writeKey)).status, 401, 'a revoked key stays revoked after a restart');
    assert.equal((await send('wk_config')).status, 200);
  });

  it('will not revoke a key given on the command line, and says where to remove it', async () => {
    const configured = (await sources()).find((s) => !s.revocable)!;
    const response = await fetch(`${server.url}/api/sources/${configured.id}`, {
      method: 'DELETE',
      headers: auth,
    });
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { error: { message: string } }).error.message, /--write-key/);
  });

  it('reports ingest counts, consumer lag, latency and storage size', async () => {
    assert.equal((await send('wk_config')).status, 200);
    const health = await waitFor(
      async () => {
        const body = (await (await fetch(`${server.url}/api/pipeline`, { headers: auth })).json()) as {
          ingest: { accepted: number };
          groups: { group: string; lag: number }[];
          latency: { p50Ms: number | null; p99Ms: number | null };
          storage: { bytes: number };
        };
        return body.groups.every((g) => g.lag === 0) && body.latency.p50Ms !== null && body;
      },
      { timeoutMs: 10_000, what: 'storage caught up' },
    );
    assert.ok(health.ingest.accepted >= 1);
    assert.ok(health.groups.some((g) => g.group === 'storage'));
    assert.ok(health.latency.p99Ms! >= health.latency.p50Ms!);
    assert.ok(health.storage.bytes > 0);
  });

  it('serves the dashboard with the right cache headers and falls back to it only for page paths', {
    skip:
      builtDashboard() === undefined ? 'dashboard not built (npm run build -w packages/dashboard)' : false,
  }, async () => {
    const index = await fetch(`${server.url}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const html = await index.text();
    const asset = /assets\/[^"]+\.js/.exec(html)![0];
    const script = await fetch(`${server.url}/${asset}`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('cache-control') ?? '', /immutable/);
    const deep = await fetch(`${server.url}/some/bookmark`);
    assert.equal(deep.status, 200);
    assert.match(deep.headers.get('content-type') ?? '', /text\/html/);
    // Served at a nested path, the page must still find its assets.
    assert.match(await deep.text(), /src="\/assets\//);
    assert.equal((await fetch(`${server.url}/assets/missing-abc.js`)).status, 404);
    const api = await fetch(`${server.url}/api/unknown`);
    assert.equal(api.status, 404);
    assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'E_NOT_FOUND');
  });
});
