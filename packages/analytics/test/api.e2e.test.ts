import assert from 'node:assert/strict';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TrackedEvent } from '@tracklane/core';
import { EmbeddedLog } from '@tracklane/log';
import { applyRecordedErasures } from '@tracklane/server';
import { DuckDbStore } from '@tracklane/storage';
import {
  makeTempDir,
  startTracklaneProcess,
  type TempDir,
  type TracklaneProcess,
  waitFor,
} from '@tracklane/test-utils';
import { PEOPLE } from './dataset.ts';

const MARCH = { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z' };

/** What a client sends: the server fields are the collector's to add. */
function incoming(event: TrackedEvent): Record<string, unknown> {
  const { receivedAt: _r, sourceId: _s, ...rest } = event as TrackedEvent & Record<string, unknown>;
  return rest;
}

describe('analytics API over HTTP', () => {
  let dir: TempDir;
  let server: TracklaneProcess;
  const api = async (method: string, path: string, body?: unknown, apiKey = server.apiKey) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: each test digs into a different response shape
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  before(async () => {
    dir = await makeTempDir();
    server = await startTracklaneProcess({ dataDir: dir.path });
    const response = await server.send('/v1/batch', { batch: PEOPLE.map(incoming) });
    assert.equal(response.status, 200, await response.text());
    await waitFor(
      async () => (await server.sql('SELECT count(*) FROM events')).rows[0]![0] === PEOPLE.length,
      {
        what: 'the dataset to be stored',
      },
    );
  });
  after(async () => {
    await server?.stop();
    await dir?.remove();
  });

  it('answers trends in the requested time zone', async () => {
    const { status, body } = await api('POST', '/api/trends', {
      event: 'Signed Up',
      from: '2026-03-02T05:00:00Z',
      to: '2026-03-05T05:00:00Z',
      interval: 'day',
      timezone: 'America/New_York',
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(
      body.series[0].data.map((d: { value: number }) => d.value),
      [2, 1, 1],
    );
  });

  it('answers funnels, retention, paths and web stats', async () => {
    const funnel = await api('POST', '/api/funnels', {
      steps: [{ event: 'Viewed Product' }, { event: 'Signed Up' }, { event: 'Purchased' }],
      ...MARCH,
      conversionWindowSeconds: 86_400,
    });
    assert.deepEqual(
      funnel.body.breakdowns[0].steps.map((s: { count: number }) => s.count),
      [3, 3, 1],
    );
    const retention = await api('POST', '/api/retention', {
      startEvent: 'Signed Up',
      returnEvent: 'Purchased',
      from: '2026-03-02T00:00:00Z',
      to: '2026-03-23T00:00:00Z',
      period: 'week',
    });
    assert.deepEqual(retention.body.cohorts, [{ cohort: '2026-03-02T00:00:00', size: 4, values: [4, 1, 1] }]);
    const paths = await api('POST', '/api/paths', { anchor: 'Viewed Product', ...MARCH });
    assert.deepEqual(paths.body.paths[0], { steps: ['Signed Up'], count: 2, people: 2 });
    const web = await api('POST', '/api/web-stats', MARCH);
    assert.equal(web.status, 200, JSON.stringify(web.body));
    assert.equal(web.body.sessions, 7);
    // The collector's user-agent enrichment names the browsers; one session each.
    assert.deepEqual(
      web.body.browsers.map((b: { value: string }) => b.value),
      ['Chrome', 'Mobile Safari', 'Safari'],
    );
  });

  it('rejects bad requests with 400 naming the field, and missing keys with 401', async () => {
    const bad = await api('POST', '/api/trends', {
      event: 'x',
      from: 'yesterday',
      to: MARCH.to,
      interval: 'fortnight',
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'E_VALIDATION');
    const paths = bad.body.error.fields.map((f: { path: string }) => f.path);
    assert.ok(paths.includes('/from') && paths.includes('/interval'), JSON.stringify(bad.body));
    const zone = await api('POST', '/api/trends', { event: 'x', ...MARCH, timezone: 'Mars/Olympus' });
    assert.deepEqual(zone.body.error.fields, [
      { path: '/timezone', message: "unknown time zone 'Mars/Olympus': use an IANA name like Europe/Paris" },
    ]);
    const unauthorized = await api('POST', '/api/trends', { event: 'x', ...MARCH }, 'wrong');
    assert.equal(unauthorized.status, 401);
  });

  it('rejects injection through property names and binds hostile values harmlessly', async () => {
    for (const property of [
      "plan') OR (1=1",
      'properties.a"b',
      'context.x; DROP TABLE events',
      '$.a[0]',
      'a..b',
    ]) {
      const { status, body } = await api('POST', '/api/trends', {
        event: 'Signed Up',
        ...MARCH,
        filters: [{ property, operator: 'eq', value: 'x' }],
      });
      assert.equal(status, 400, property);
      assert.equal(body.error.fields[0].path, '/filters/0/property');
    }
    const breakdown = await api('POST', '/api/trends', { event: 'Signed Up', ...MARCH, breakdown: "x') --" });
    assert.equal(breakdown.status, 400);
    assert.equal(breakdown.body.error.fields[0].path, '/breakdown');
    const hostile = await api('POST', '/api/trends', {
      event: "Signed Up' OR '1'='1",
      ...MARCH,
      interval: 'month',
      filters: [{ property: 'plan', operator: 'eq', value: "pro' OR 1=1; DROP TABLE events; --" }],
    });
    assert.equal(hostile.status, 200);
    assert.equal(hostile.body.series[0].total, 0);
    assert.equal((await server.sql('SELECT count(*) FROM events')).rows[0]![0], PEOPLE.length);
  });

  it('keeps /api/sql read-only and away from files', async () => {
    for (const [sql, status] of [
      ['DELETE FROM events', 403],
      ['DROP TABLE events', 403],
      // COPY parses as a SELECT-shaped plan here and is refused by the locked file-system setting.
      [`COPY events TO '${join(dir.path, 'stolen.csv')}'`, 400],
      ["ATTACH '/tmp/other.duckdb' AS other", 403],
      ["SELECT * FROM read_csv('/etc/passwd')", 400],
      ['SELECT 1; DELETE FROM events', 403],
    ] as const) {
      const response = await api('POST', '/api/sql', { sql });
      assert.equal(response.status, status, `${sql}: ${JSON.stringify(response.body)}`);
    }
    await assert.rejects(stat(join(dir.path, 'stolen.csv')), { code: 'ENOENT' });
  });

  it('streams newly stored events to a filtered live tail', async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/api/live?event=Live%20Ping`, {
      headers: { authorization: `Bearer ${server.apiKey}` },
      signal: controller.signal,
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = response.body!.getReader();
    let text = '';
    await server.send('/v1/batch', {
      batch: [
        { type: 'track', event: 'Other', userId: 'live-user' },
        { type: 'track', event: 'Live Ping', userId: 'live-user', properties: { n: 1 } },
      ],
    });
    while (!text.includes('Live Ping')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const messages = text.split('\n\n').filter((m) => m.startsWith('event: event'));
    assert.equal(messages.length, 1);
    assert.equal(JSON.parse(messages[0]!.split('data: ')[1]!).event, 'Live Ping');
    assert.ok(!text.includes('"Other"'));
  });

  it('erases a person everywhere, and a replay of the log does not bring them back', async () => {
    const erased = await api('DELETE', '/api/users/alice');
    assert.equal(erased.status, 200, JSON.stringify(erased.body));
    assert.deepEqual(erased.body.ids, ['a-anon', 'alice']);
    assert.equal(erased.body.eventsDeleted, 6);
    // Late events under either id are refused too, and never shown on the live tail.
    const controller = new AbortController();
    const tail = await fetch(`${server.url}/api/live`, {
      headers: { authorization: `Bearer ${server.apiKey}` },
      signal: controller.signal,
    });
    const reader = tail.body!.getReader();
    await server.send('/v1/batch', {
      batch: [
        { type: 'track', event: 'Late', anonymousId: 'a-anon', messageId: 'late-a' },
        { type: 'track', event: 'Marker', userId: 'bob', messageId: 'marker' },
      ],
    });
    await waitFor(
      async () =>
        (await server.sql("SELECT count(*) FROM events WHERE message_id = 'marker'")).rows[0]![0] === 1,
    );
    let seen = '';
    while (!seen.includes('"marker"')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    controller.abort();
    assert.ok(!seen.includes('late-a'), 'an erased person appeared on the live tail');
    const leftovers = `SELECT
      (SELECT count(*) FROM events WHERE user_id = 'alice' OR anonymous_id = 'a-anon'),
      (SELECT count(*) FROM identities WHERE person_id = 'alice' OR distinct_id = 'a-anon'),
      (SELECT count(*) FROM dead_letters WHERE contains(payload, '"alice"') OR contains(payload, '"a-anon"'))`;
    assert.deepEqual((await server.sql(leftovers)).rows, [[0, 0, 0]]);
    assert.equal(await server.stop(), 0);

    // Replay: every record of the log, in order, into a brand-new store.
    const log = await EmbeddedLog.open(join(dir.path, 'log'));
    const replayPath = join(dir.path, 'replay.duckdb');
    const store = await DuckDbStore.open(replayPath);
    try {
      await applyRecordedErasures(log, store);
      for (const { partition, start, end } of await log.offsets('events')) {
        for (let offset = start; offset < end; ) {
          const records = await log.read('events', partition, offset, { maxRecords: 500 });
          if (records.length === 0) break;
          await store.insertEvents(records.map((r) => JSON.parse(r.value.toString('utf8')) as TrackedEvent));
          offset = records.at(-1)!.offset + 1;
        }
      }
      assert.deepEqual((await store.query(leftovers)).rows, [[0, 0, 0]]);
      const total = (await store.query('SELECT count(*) FROM events')).rows[0]![0] as number;
      assert.equal(total, PEOPLE.length - 6 + 3); // + live-tail pair + marker
    } finally {
      await store.close();
      await log.close();
      await rm(replayPath, { force: true });
    }
  });
});
