import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  makeTempDir,
  startTracklaneProcess,
  type TempDir,
  type TracklaneProcess,
  waitFor,
} from '@tracklane/test-utils';

const CLI = fileURLToPath(new URL('../../cli/src/bin.ts', import.meta.url));
const good = (id: string, extra: Record<string, unknown> = {}) => ({
  type: 'track',
  event: 'Clicked',
  userId: 'u1',
  messageId: id,
  ...extra,
});

/** test-utils' `send` JSON-encodes non-strings; compressed bodies go out as raw bytes. */
function postGzip(server: TracklaneProcess, path: string, body: Buffer | string): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      authorization: `Basic ${Buffer.from(`${server.writeKey}:`).toString('base64')}`,
    },
    body,
  });
}

async function count(server: TracklaneProcess, sql: string): Promise<number> {
  return Number((await server.sql(sql)).rows[0]![0]);
}

describe('hostile and broken input over real HTTP', () => {
  let dir: TempDir;
  let server: TracklaneProcess;
  before(async () => {
    dir = await makeTempDir();
    server = await startTracklaneProcess({ dataDir: dir.path });
  });
  after(async () => {
    await server.stop();
    await dir.remove();
  });

  it('dead-letters an event over 32 KB and keeps its neighbours', async () => {
    const response = await server.send('/v1/batch', {
      batch: [good('size-ok'), good('size-big', { properties: { blob: 'x'.repeat(40 * 1024) } })],
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { rejected: { index: number; reason: string }[] };
    assert.deepEqual(
      body.rejected.map((r) => [r.index, r.reason]),
      [[1, 'too_large']],
    );
    await waitFor(
      async () =>
        (await count(
          server,
          "SELECT count(*) FROM dead_letters WHERE message_id = 'size-big' AND reason LIKE 'too_large%'",
        )) === 1,
    );
    await waitFor(
      async () => (await count(server, "SELECT count(*) FROM events WHERE message_id = 'size-ok'")) === 1,
    );
  });

  it('refuses a gzip bomb at the decompressed limit with 413', async () => {
    const bomb = gzipSync(
      Buffer.concat([Buffer.from('{"batch":[{"type":"track","event":"'), Buffer.alloc(20 * 1024 * 1024, 97)]),
    );
    assert.ok(bomb.length < 100 * 1024);
    const response = await postGzip(server, '/v1/batch', bomb);
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'E_PAYLOAD_TOO_LARGE');
  });

  it('answers a body that is not gzip with 400', async () => {
    const response = await postGzip(server, '/v1/batch', '{"batch":[]}');
    assert.equal(response.status, 400);
  });

  it('accepts gzip bodies and single-call paths with their short aliases', async () => {
    const response = await postGzip(server, '/v1/batch', gzipSync(JSON.stringify({ batch: [good('gz-1')] })));
    assert.equal(response.status, 200);
    assert.equal(
      (await server.send('/v1/t', { event: 'Short', userId: 'u1', messageId: 'short-t' })).status,
      200,
    );
    assert.equal(
      (await server.send('/v1/identify', { userId: 'u1', traits: { a: 1 }, messageId: 'long-i' })).status,
      200,
    );
    await waitFor(
      async () =>
        (await count(
          server,
          "SELECT count(*) FROM events WHERE message_id IN ('gz-1', 'short-t', 'long-i')",
        )) === 3,
    );
  });

  it('answers wrongly typed single events with 400 naming the field, and dead-letters them', async () => {
    const response = await server.send('/v1/track', { event: 42, userId: 'u1', messageId: 'typed-bad' });
    assert.equal(response.status, 400);
    const error = ((await response.json()) as { error: { fields: { path: string }[] } }).error;
    assert.deepEqual(
      error.fields.map((f) => f.path),
      ['/event'],
    );
    await waitFor(
      async () =>
        (await count(server, "SELECT count(*) FROM dead_letters WHERE message_id = 'typed-bad'")) === 1,
    );
  });

  it('refuses unknown keys on every protocol with 401 and stores nothing', async () => {
    const ph = await fetch(`${server.url}/batch/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: 'nope', batch: [{ event: 'x', distinct_id: 'd', uuid: 'unauth-ph' }] }),
    });
    assert.equal(ph.status, 401);
    const sp = await fetch(`${server.url}/com.snowplowanalytics.snowplow/tp2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        schema: 'x',
        data: [{ e: 'pv', aid: 'not-a-key', duid: 'd', eid: 'unauth-sp' }],
      }),
    });
    assert.equal(sp.status, 401);
    assert.equal(
      await count(server, "SELECT count(*) FROM dead_letters WHERE message_id LIKE 'unauth-%'"),
      0,
    );
  });

  it('maps PostHog base64 form bodies and dead-letters an event without a name', async () => {
    const data = Buffer.from(
      JSON.stringify([
        { event: 'form ok', distinct_id: 'd1', uuid: 'ph-form-1', properties: { token: server.writeKey } },
        { distinct_id: 'd1', uuid: 'ph-form-2', properties: { token: server.writeKey } },
      ]),
    ).toString('base64');
    const response = await fetch(`${server.url}/e/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ data }).toString(),
    });
    assert.equal(response.status, 200);
    await waitFor(
      async () => (await count(server, "SELECT count(*) FROM events WHERE message_id = 'ph-form-1'")) === 1,
    );
    await waitFor(
      async () =>
        (await count(server, "SELECT count(*) FROM dead_letters WHERE reason LIKE 'unmappable%'")) >= 1,
    );
  });

  it('accepts a replayed messageId once, even across a restart', async () => {
    for (let i = 0; i < 3; i++)
      assert.equal((await server.send('/v1/batch', { batch: [good('replayed-1')] })).status, 200);
    await waitFor(
      async () => (await count(server, "SELECT count(*) FROM events WHERE message_id = 'replayed-1'")) === 1,
    );
    const port = server.port;
    assert.equal(await server.stop(), 0);
    server = await startTracklaneProcess({ dataDir: dir.path, port });
    assert.equal((await server.send('/v1/batch', { batch: [good('replayed-1')] })).status, 200);
    // The collector itself dropped it (not only storage's primary key): its metric says so.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /tracklane_events_duplicate_total\{protocol="segment"\} 1/);
  });

  it('gives permissive CORS to collector routes only, not to /api', async () => {
    const preflight = (path: string) =>
      fetch(`${server.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin: 'https://site.example', 'access-control-request-method': 'POST' },
      });
    const collector = await preflight('/v1/batch');
    assert.equal(collector.status, 204);
    assert.equal(collector.headers.get('access-control-allow-origin'), '*');
    const api = await preflight('/api/sql');
    assert.equal(api.headers.get('access-control-allow-origin'), null);
    assert.notEqual(api.status, 204);
  });

  it('exposes Prometheus metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /tracklane_http_request_duration_seconds_bucket/);
    assert.match(text, /tracklane_log_append_duration_seconds_count/);
    assert.match(text, /tracklane_events_in_flight/);
  });

  it('never writes a key to its output', () => {
    assert.doesNotMatch(server.output(), new RegExp(`${server.writeKey}|${server.apiKey}`));
  });
});

describe('tracking plans, dead-letter replay and rate limits', () => {
  it('rejects plan violations in strict mode, then replays them once the plan is relaxed', async () => {
    await using dir = await makeTempDir();
    const plan = join(dir.path, 'plan.json');
    await writeFile(
      plan,
      JSON.stringify({
        '*': {
          mode: 'strict',
          events: {
            'Order Completed': {
              type: 'object',
              required: ['total'],
              properties: { total: { type: 'number' } },
            },
          },
        },
      }),
    );
    const dataDir = join(dir.path, 'data');
    let server = await startTracklaneProcess({
      dataDir,
      extraArgs: ['--tracking-plan', plan, '--rate-limit-key', '50'],
    });
    try {
      const order = (id: string, total: unknown) => ({
        type: 'track',
        event: 'Order Completed',
        userId: 'u',
        messageId: id,
        properties: { total },
      });
      const response = await server.send('/v1/batch', {
        batch: [order('plan-ok', 10), order('plan-bad', 'ten')],
      });
      assert.equal(response.status, 200);
      const body = (await response.json()) as { rejected: { reason: string; message: string }[] };
      assert.equal(body.rejected[0]!.reason, 'tracking_plan');
      assert.match(body.rejected[0]!.message, /total must be number/);
      await waitFor(
        async () =>
          (await count(server, "SELECT count(*) FROM dead_letters WHERE message_id = 'plan-bad'")) === 1,
      );

      // 50 events/s with a burst of 100: the third 50-event batch in a row is refused.
      const batch = Array.from({ length: 50 }, (_, i) => ({
        type: 'track',
        event: 'Burst',
        userId: 'u',
        messageId: `burst-${i}`,
      }));
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        const r = await server.send('/v1/batch', { batch });
        statuses.push(r.status);
        if (r.status === 429) assert.ok(Number(r.headers.get('retry-after')) >= 1);
      }
      assert.deepEqual(statuses, [200, 200, 429]);
    } finally {
      assert.equal(await server.stop(), 0);
    }
    // The plan is dropped (the fix); replay re-submits the dead letter through validation.
    server = await startTracklaneProcess({ dataDir });
    try {
      const replay = () =>
        spawnSync(
          process.execPath,
          [
            '--import',
            'tsx',
            CLI,
            'dead-letters',
            'replay',
            '--url',
            server.url,
            '--api-key',
            server.apiKey,
            '--write-key',
            server.writeKey,
            '--reason',
            'tracking_plan',
          ],
          { encoding: 'utf8', timeout: 30_000 },
        );
      const first = replay();
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /1 accepted, 0 rejected again/);
      await waitFor(
        async () => (await count(server, "SELECT count(*) FROM events WHERE message_id = 'plan-bad'")) === 1,
      );
      assert.equal(replay().status, 0);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await count(server, "SELECT count(*) FROM events WHERE message_id = 'plan-bad'"), 1);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});
