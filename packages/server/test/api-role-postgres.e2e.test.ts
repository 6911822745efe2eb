import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TrackedEvent } from '@tracklane/core';
import { natsServerMissing, startNatsServer } from '@tracklane/log-nats/testing';
import { type PgServer, pgServerMissing, startPgServer } from '@tracklane/storage-postgres/testing';
import {
  makeTempDir,
  type RoleProcess,
  startRoleProcess,
  type TempDir,
  waitFor,
} from '@tracklane/test-utils';
// The analytics package's hand-checked world (not exported by it; a test-only import by path).
import { PEOPLE } from '../../analytics/test/dataset.ts';

/*
 * The split topology's `tracklane api` on PostgreSQL answers the analytics queries: events go in through a
 * real collector, NATS and a processor into PostgreSQL, and the API's trends, funnels, retention, paths and
 * web stats give the hand-checked answers the embedded (DuckDB) server gives in analytics/test/api.e2e.
 */

const WRITE_KEY = 'wk_api_pg_test';
const API_KEY = 'ak_api_pg_test';
const MARCH = { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z' };
const skip = natsServerMissing() ?? pgServerMissing();

/** What a client sends: the server fields are the collector's to add. */
function incoming(event: TrackedEvent): Record<string, unknown> {
  const { receivedAt: _r, sourceId: _s, ...rest } = event as TrackedEvent & Record<string, unknown>;
  return rest;
}

describe('tracklane api on PostgreSQL answers the analytics queries', { skip }, () => {
  let dir: TempDir;
  let nats: Awaited<ReturnType<typeof startNatsServer>> | undefined;
  let pg: PgServer | undefined;
  const roles: RoleProcess[] = [];
  let api: RoleProcess;
  let passed = true;

  const post = async (
    path: string,
    body: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: each test digs into a different response shape
  ): Promise<{ status: number; body: Record<string, any> }> => {
    const response = await fetch(`${api.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const count = async () =>
    Number((await post('/api/sql', { sql: 'SELECT count(*) FROM events' })).body.rows[0][0]);

  before(async () => {
    dir = await makeTempDir('tracklane-api-pg-');
    [nats, pg] = await Promise.all([startNatsServer(), startPgServer()]);
    const config = join(dir.path, 'tracklane.config.json');
    await writeFile(
      config,
      JSON.stringify({
        dataDir: join(dir.path, 'default'),
        logLevel: 'warn',
        eventPartitions: 2,
        keys: { writeKeys: [WRITE_KEY], apiKey: API_KEY },
        log: { kind: 'nats', servers: nats.servers, replicas: 1 },
        store: { kind: 'postgres', url: pg.url },
      }),
    );
    const start = async (role: RoleProcess['role']) => {
      const started = await startRoleProcess({ role, config, dataDir: join(dir.path, role) });
      roles.push(started);
      return started;
    };
    // The processor creates the schema before the others open the store.
    await start('processor');
    const [collector, apiRole] = await Promise.all([start('collector'), start('api')]);
    api = apiRole;
    const response = await fetch(`${collector.url}/v1/batch`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
      },
      body: JSON.stringify({ batch: PEOPLE.map(incoming) }),
    });
    assert.equal(response.status, 200, await response.text());
    await waitFor(async () => (await count()) === PEOPLE.length, { what: 'the dataset to reach PostgreSQL' });
  });
  after(async () => {
    // What the processes said is the only clue when this fails.
    if (!passed)
      for (const r of roles) process.stderr.write(`--- ${r.role} ---\n${r.output().slice(-3_000)}\n`);
    await Promise.all(roles.map((r) => r.stop()));
    await Promise.all([nats?.stop(), pg?.stop()]);
    await dir?.remove();
  });
  const check = (name: string, test: () => Promise<void>) =>
    it(name, async () => {
      try {
        await test();
      } catch (err) {
        passed = false;
        throw err;
      }
    });

  check('answers trends in the requested time zone, counting a stitched person once', async () => {
    const trends = await post('/api/trends', {
      event: 'Signed Up',
      from: '2026-03-02T05:00:00Z',
      to: '2026-03-05T05:00:00Z',
      interval: 'day',
      timezone: 'America/New_York',
    });
    assert.equal(trends.status, 200, JSON.stringify(trends.body));
    assert.deepEqual(trends.body.series, [
      {
        breakdown: null,
        total: 4,
        data: [
          { bucket: '2026-03-02T00:00:00', value: 2 },
          { bucket: '2026-03-03T00:00:00', value: 1 },
          { bucket: '2026-03-04T00:00:00', value: 1 },
        ],
      },
    ]);
    const people = await post('/api/trends', {
      event: 'Viewed Product',
      ...MARCH,
      interval: 'month',
      measure: 'unique_users',
      filters: [{ property: 'user_id', operator: 'is_not_set' }],
    });
    assert.equal(people.body.series[0].total, 2);
  });

  check('answers funnels, retention, paths and web stats', async () => {
    const funnel = await post('/api/funnels', {
      steps: [{ event: 'Viewed Product' }, { event: 'Signed Up' }, { event: 'Purchased' }],
      ...MARCH,
      conversionWindowSeconds: 86_400,
    });
    assert.equal(funnel.status, 200, JSON.stringify(funnel.body));
    assert.deepEqual(
      funnel.body.breakdowns[0].steps.map((s: { count: number; medianSecondsFromPrevious: number }) => [
        s.count,
        s.medianSecondsFromPrevious,
      ]),
      [
        [3, null],
        [3, 360],
        [1, 1140],
      ],
    );
    const retention = await post('/api/retention', {
      startEvent: 'Signed Up',
      returnEvent: 'Purchased',
      from: '2026-03-02T00:00:00Z',
      to: '2026-03-23T00:00:00Z',
      period: 'week',
    });
    assert.deepEqual(retention.body.cohorts, [{ cohort: '2026-03-02T00:00:00', size: 4, values: [4, 1, 1] }]);
    const paths = await post('/api/paths', { anchor: 'Viewed Product', ...MARCH });
    assert.deepEqual(paths.body.paths, [
      { steps: ['Signed Up'], count: 2, people: 2 },
      { steps: ['$end'], count: 1, people: 1 },
    ]);
    const web = await post('/api/web-stats', MARCH);
    assert.equal(web.status, 200, JSON.stringify(web.body));
    assert.deepEqual([web.body.visitors, web.body.sessions, web.body.pageviews], [4, 7, 4]);
    // The collector's user-agent enrichment names the browsers; one session each.
    assert.deepEqual(
      web.body.browsers.map((b: { value: string }) => b.value),
      ['Chrome', 'Mobile Safari', 'Safari'],
    );
  });

  check('rejects injection through property names and binds hostile values harmlessly', async () => {
    const bad = await post('/api/trends', {
      event: 'Signed Up',
      ...MARCH,
      filters: [{ property: "plan') OR (1=1", operator: 'eq', value: 'x' }],
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.fields[0].path, '/filters/0/property');
    const hostile = await post('/api/trends', {
      event: "Signed Up' OR '1'='1",
      ...MARCH,
      interval: 'month',
      filters: [{ property: 'plan', operator: 'eq', value: "pro'; DROP TABLE events; --" }],
    });
    assert.equal(hostile.status, 200, JSON.stringify(hostile.body));
    assert.equal(hostile.body.series[0].total, 0);
    assert.equal(await count(), PEOPLE.length);
  });
});
