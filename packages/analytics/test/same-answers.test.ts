import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runFunnel, runPaths, runRetention, runTrends, runWebStats } from '@tracklane/analytics';
import type { TrackedEvent } from '@tracklane/core';
import type { Store } from '@tracklane/storage';
import { PEOPLE } from './dataset.ts';
import { STORES, storeWith } from './stores.ts';

/**
 * Every request below is answered by DuckDB (the reference) and by each other store holding the same
 * events, and the answers must be identical: time-zone and DST edges, stitched people, empty ranges,
 * every filter operator, hostile values and property names. The hand-checked numbers live in
 * queries.test.ts and web-and-paths.test.ts; this suite covers far more requests than one would check by
 * hand, by holding the other engines to DuckDB's answer.
 */

const at = (iso: string) => ({ timestamp: iso, receivedAt: iso, sourceId: 'src_test' });

/** More of the world: an alias (erin's anonymous id merged by alias, not identify), a crawler, odd
 * property values (numeric text, JSON null, nested objects, booleans), an event on each side of New York's
 * DST switch (2026-03-08 07:00 UTC). */
const EXTRA: TrackedEvent[] = [
  {
    type: 'page',
    messageId: 'e1',
    anonymousId: 'e-anon',
    properties: { path: '/home' },
    context: { page: { path: '/home', referrer: 'https://duckduckgo.com/?q=x' } },
    ...at('2026-03-08T06:30:00Z'),
  },
  {
    type: 'track',
    messageId: 'e2',
    anonymousId: 'e-anon',
    event: 'Viewed Product',
    properties: { price: '19.5', tags: null, item: { sku: 'A-1', stock: 3 }, featured: true },
    ...at('2026-03-08T07:30:00Z'),
  },
  { type: 'alias', messageId: 'e3', previousId: 'e-anon', userId: 'erin', ...at('2026-03-08T07:40:00Z') },
  {
    type: 'track',
    messageId: 'e4',
    userId: 'erin',
    event: 'Signed Up',
    properties: { plan: 'Team Pro', price: 7 },
    ...at('2026-03-08T07:45:00Z'),
  },
  {
    type: 'track',
    messageId: 'e5',
    userId: 'erin',
    event: 'Purchased',
    properties: { amount: 12.25, plan: 'Team Pro' },
    ...at('2026-03-31T23:59:59.999Z'),
  },
  {
    type: 'page',
    messageId: 'bot1',
    anonymousId: 'crawler',
    properties: { path: '/home' },
    context: { page: { path: '/home' }, tracklane: { bot: true } },
    ...at('2026-03-05T03:00:00Z'),
  },
  {
    type: 'screen',
    messageId: 's1',
    userId: 'bob',
    name: 'Settings',
    properties: { plan: 'free' },
    ...at('2026-03-02T23:31:00Z'),
  },
] as TrackedEvent[];

const MARCH = { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z' };
const EMPTY = { from: '2020-01-01T00:00:00Z', to: '2020-01-08T00:00:00Z' };
const filter = (property: string, operator: string, value?: unknown) => ({
  property,
  operator,
  ...(value === undefined ? {} : { value }),
});
const OPERATORS = [
  filter('plan', 'eq', 'pro'),
  filter('plan', 'neq', 'pro'),
  filter('plan', 'in', ['free', 'Team Pro']),
  filter('plan', 'not_in', ['free']),
  filter('plan', 'contains', 'PRO'),
  filter('plan', 'not_contains', 'team'),
  filter('amount', 'gt', 20),
  filter('amount', 'gte', 20),
  filter('price', 'lt', 10),
  filter('price', 'lte', 19.5),
  filter('price', 'eq', 19.5),
  filter('featured', 'eq', true),
  filter('item.sku', 'eq', 'A-1'),
  filter('item.stock', 'gte', 3),
  filter('tags', 'is_set'),
  filter('tags', 'is_not_set'),
  filter('context.page.path', 'eq', '/home'),
  filter('user_id', 'is_set'),
  filter('anonymous_id', 'eq', 'e-anon'),
  filter('type', 'in', ['page', 'screen']),
  filter('name', 'eq', 'Settings'),
];

type Run = (store: Store, body: unknown) => Promise<unknown>;
const CASES: [string, Run, unknown][] = [
  ['trends: count per day', runTrends, { event: 'Signed Up', ...MARCH }],
  [
    'trends: per minute',
    runTrends,
    { event: 'Viewed Product', from: '2026-03-02T10:00:00Z', to: '2026-03-02T10:10:00Z', interval: 'minute' },
  ],
  [
    'trends: per hour across the New York DST switch',
    runTrends,
    {
      event: '$pageview',
      from: '2026-03-08T03:00:00Z',
      to: '2026-03-08T09:00:00Z',
      interval: 'hour',
      timezone: 'America/New_York',
    },
  ],
  [
    'trends: per day in a half-hour zone',
    runTrends,
    { event: 'Signed Up', ...MARCH, interval: 'day', timezone: 'Asia/Kolkata' },
  ],
  [
    'trends: per week in Auckland',
    runTrends,
    {
      event: 'Purchased',
      ...MARCH,
      interval: 'week',
      timezone: 'Pacific/Auckland',
      measure: 'sum',
      property: 'amount',
    },
  ],
  [
    'trends: per month, the last millisecond of March',
    runTrends,
    {
      event: 'Purchased',
      from: '2026-02-01T00:00:00Z',
      to: '2026-05-01T00:00:00Z',
      interval: 'month',
      measure: 'avg',
      property: 'properties.amount',
    },
  ],
  [
    'trends: unique people across identify and alias',
    runTrends,
    { event: 'Viewed Product', ...MARCH, interval: 'week', measure: 'unique_users' },
  ],
  [
    'trends: unique people of every event type',
    runTrends,
    { event: '$pageview', ...MARCH, measure: 'unique_users', interval: 'month' },
  ],
  ['trends: screens by name', runTrends, { event: '$screen', ...MARCH, breakdown: 'name' }],
  [
    'trends: breakdown with a limit',
    runTrends,
    { event: 'Signed Up', ...MARCH, interval: 'week', breakdown: 'plan', breakdownLimit: 2 },
  ],
  [
    'trends: breakdown by a nested property',
    runTrends,
    { event: 'Viewed Product', ...MARCH, interval: 'month', breakdown: 'item.sku' },
  ],
  [
    'trends: breakdown by a column',
    runTrends,
    { event: 'Signed Up', ...MARCH, interval: 'month', breakdown: 'user_id' },
  ],
  ...OPERATORS.map((f, i): [string, Run, unknown] => [
    `trends: filter ${i} (${f.property} ${f.operator})`,
    runTrends,
    { event: 'Viewed Product', ...MARCH, interval: 'month', filters: [f] },
  ]),
  ...OPERATORS.map((f, i): [string, Run, unknown] => [
    `trends: filter ${i} (${f.property} ${f.operator}) on every event type`,
    runTrends,
    { event: 'Signed Up', ...MARCH, interval: 'month', filters: [f] },
  ]),
  ['trends: nothing in range', runTrends, { event: 'Signed Up', ...EMPTY }],
  [
    'trends: hostile values are only values',
    runTrends,
    {
      event: "Signed Up' OR '1'='1",
      ...MARCH,
      filters: [
        filter('plan', 'eq', "pro'); DROP TABLE events; --"),
        filter('plan', 'contains', "%' OR 1=1 --"),
      ],
    },
  ],
  [
    'trends: hostile property name',
    runTrends,
    { event: 'Signed Up', ...MARCH, filters: [filter("plan') OR (1=1", 'eq', 'x')] },
  ],
  [
    'trends: hostile breakdown',
    runTrends,
    { event: 'Signed Up', ...MARCH, breakdown: 'context.x"; DROP TABLE events' },
  ],
  [
    'funnels: ordered',
    runFunnel,
    {
      steps: [{ event: 'Viewed Product' }, { event: 'Signed Up' }, { event: 'Purchased' }],
      ...MARCH,
      conversionWindowSeconds: 86_400,
    },
  ],
  [
    'funnels: ordered, long window',
    runFunnel,
    { steps: [{ event: 'Viewed Product' }, { event: 'Signed Up' }, { event: 'Purchased' }], ...MARCH },
  ],
  [
    'funnels: the same event twice',
    runFunnel,
    { steps: [{ event: 'Purchased' }, { event: 'Purchased' }], ...MARCH },
  ],
  [
    'funnels: a page view then a track event',
    runFunnel,
    {
      steps: [{ event: '$pageview' }, { event: 'Viewed Product' }, { event: 'Signed Up' }],
      ...MARCH,
      conversionWindowSeconds: 7_200,
    },
  ],
  [
    'funnels: strict',
    runFunnel,
    { steps: [{ event: 'Viewed Product' }, { event: 'Signed Up' }], ...MARCH, order: 'strict' },
  ],
  [
    'funnels: strict, three steps',
    runFunnel,
    {
      steps: [{ event: '$pageview' }, { event: 'Viewed Product' }, { event: 'Signed Up' }],
      ...MARCH,
      order: 'strict',
    },
  ],
  [
    'funnels: any order',
    runFunnel,
    {
      steps: [{ event: 'Signed Up' }, { event: 'Viewed Product' }, { event: 'Purchased' }],
      ...MARCH,
      order: 'any',
    },
  ],
  [
    'funnels: breakdown and step filters',
    runFunnel,
    {
      steps: [{ event: 'Signed Up' }, { event: 'Purchased', filters: [filter('amount', 'gt', 0)] }],
      ...MARCH,
      breakdown: 'plan',
    },
  ],
  [
    'funnels: global filter',
    runFunnel,
    {
      steps: [{ event: 'Viewed Product' }, { event: 'Signed Up' }],
      ...MARCH,
      filters: [filter('user_id', 'is_set')],
    },
  ],
  ['funnels: nobody starts', runFunnel, { steps: [{ event: 'Nope' }, { event: 'Signed Up' }], ...MARCH }],
  [
    'funnels: nothing in range',
    runFunnel,
    { steps: [{ event: 'Viewed Product' }, { event: 'Signed Up' }], ...EMPTY, breakdown: 'plan' },
  ],
  ['retention: weekly', runRetention, { startEvent: 'Signed Up', returnEvent: 'Purchased', ...MARCH }],
  [
    'retention: daily in New York across DST',
    runRetention,
    {
      startEvent: 'Viewed Product',
      returnEvent: 'Signed Up',
      from: '2026-03-02T05:00:00Z',
      to: '2026-03-12T04:00:00Z',
      period: 'day',
      timezone: 'America/New_York',
    },
  ],
  [
    'retention: monthly',
    runRetention,
    {
      startEvent: '$pageview',
      returnEvent: 'Purchased',
      from: '2026-02-01T00:00:00Z',
      to: '2026-05-01T00:00:00Z',
      period: 'month',
    },
  ],
  [
    'retention: with filters',
    runRetention,
    {
      startEvent: 'Signed Up',
      returnEvent: 'Purchased',
      ...MARCH,
      period: 'day',
      startFilters: [filter('plan', 'neq', 'free')],
      returnFilters: [filter('amount', 'lt', 40)],
    },
  ],
  ['retention: nobody starts', runRetention, { startEvent: 'Nope', returnEvent: 'Purchased', ...MARCH }],
  ['paths: next events', runPaths, { anchor: 'Viewed Product', ...MARCH }],
  [
    'paths: previous, three deep',
    runPaths,
    { anchor: 'Signed Up', direction: 'previous', depth: 3, ...MARCH },
  ],
  ['paths: pages', runPaths, { anchor: '/home', kind: 'pages', depth: 2, ...MARCH }],
  ['paths: short sessions', runPaths, { anchor: '$pageview', depth: 2, sessionGapSeconds: 60, ...MARCH }],
  [
    'paths: filtered, limited',
    runPaths,
    { anchor: 'Viewed Product', depth: 2, limit: 1, filters: [filter('user_id', 'is_set')], ...MARCH },
  ],
  ['paths: unknown anchor', runPaths, { anchor: "x' OR 1=1 --", ...MARCH }],
  ['web stats: March', runWebStats, MARCH],
  [
    'web stats: one row per list, one-minute sessions',
    runWebStats,
    { ...MARCH, limit: 1, sessionGapSeconds: 60 },
  ],
  ['web stats: filtered', runWebStats, { ...MARCH, filters: [filter('context.page.path', 'eq', '/home')] }],
  ['web stats: in a zone', runWebStats, { ...MARCH, timezone: 'Europe/Paris' }],
  ['web stats: nothing in range', runWebStats, EMPTY],
];

/** The answer, or the error's code and fields: a request one engine rejects, every engine must. */
async function answer(run: Run, store: Store, body: unknown): Promise<unknown> {
  try {
    return normalise(await run(store, body));
  } catch (err) {
    const e = err as { code?: string; fields?: unknown; message: string };
    if (e.code !== 'E_VALIDATION') throw err;
    return { error: e.code, fields: e.fields };
  }
}

/** Floats rounded to 12 significant digits: engines may sum doubles in another order (last-bit noise). */
function normalise(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? value : Number(value.toPrecision(12));
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  }
  return value;
}

const [duckdb, ...others] = STORES;
for (const kind of others) {
  describe(`${kind.name} answers every analytics request as DuckDB does`, { skip: kind.skip }, () => {
    let reference: Store;
    let store: Store;
    before(async () => {
      reference = await storeWith(duckdb!, PEOPLE.slice(0, 5), [...PEOPLE.slice(5), ...EXTRA]);
      store = await storeWith(kind, PEOPLE.slice(0, 5), [...PEOPLE.slice(5), ...EXTRA]);
    });
    for (const [name, run, body] of CASES) {
      it(name, async () => {
        assert.deepEqual(await answer(run, store, body), await answer(run, reference, body));
      });
    }
    it('stores the same person keys and identity links as DuckDB', async () => {
      for (const sql of [
        'SELECT message_id, CAST(distinct_key AS VARCHAR) FROM events ORDER BY message_id',
        'SELECT distinct_id, person_id, CAST(distinct_key AS VARCHAR), CAST(person_key AS VARCHAR) FROM identities ORDER BY distinct_id',
      ]) {
        const expected = await reference.query(sql, { maxRows: 1_000 });
        assert.ok(expected.rows.length > 0, sql);
        assert.deepEqual((await store.query(sql, { maxRows: 1_000 })).rows, expected.rows, sql);
      }
    });

    it('left the events as they were', async () => {
      const sql = 'SELECT count(*) FROM events';
      assert.deepEqual((await store.query(sql)).rows, [[PEOPLE.length + EXTRA.length]]);
    });
  });
}
