import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  buildFunnel,
  buildRetention,
  buildTopPages,
  buildTrends,
  type FunnelRequest,
  type RetentionRequest,
  type TrendsRequest,
} from '@tracklane/analytics';
import { DuckDbStore, idKeySql, type QueryParam } from '@tracklane/storage';
import type { BenchContext, BenchResult, Workload } from '../result.ts';

/**
 * Analytics over a deterministic synthetic month: 10M events (1M with --quick) from 200k people (20k), in
 * sessions of 8 events 45 s apart: a page view, then product views, carts, checkouts, purchases, clicks
 * and searches with falling odds; 30% of sessions anonymous (stitched through `identities`).
 * Each query goes through the query builder and, beside it, the same question written by hand in DuckDB SQL.
 * Both run through `Store.query`; the figure is the median of 5 runs after a warm-up. Ratio = hand / ours.
 */
const FROM = '2026-01-01T00:00:00Z';
const TO = '2026-01-31T00:00:00Z';
const DAY_RANGE = "timestamp >= TIMESTAMP '2026-01-01' AND timestamp < TIMESTAMP '2026-01-31'";

const workload: Workload = {
  name: 'analytics-queries',
  description:
    'trends, unique users, 4-step funnel, weekly retention, top pages on 10M events vs hand-written SQL',
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const events = ctx.quick ? 1_000_000 : 10_000_000;
    const users = ctx.quick ? 20_000 : 200_000;
    const path = join(ctx.tmpDir, 'analytics.duckdb');
    const loadStarted = performance.now();
    await generate(path, events, users, ctx);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const store = await DuckDbStore.open(path, { queryTimeoutMs: 120_000 });
    const results: BenchResult[] = [];
    try {
      const cases = benchCases();
      for (const [i, c] of cases.entries()) {
        ctx.progress(`query ${c.name}`, i, cases.length);
        const ours = await median(() => store.query(c.ours.sql, { params: c.ours.params, maxRows: 100_000 }));
        const hand = await median(() => store.query(c.hand, { maxRows: 100_000 }));
        results.push({
          workload: 'analytics-queries',
          name: `${c.name} (${(events / 1e6).toFixed(0)}M events, query builder)`,
          value: round(ours.ms),
          unit: 'ms',
          baseline: { name: 'hand-written DuckDB SQL', value: round(hand.ms) },
          ratio: round(hand.ms / ours.ms),
          goal: 0.5,
          extra: {
            'under 1 s': ours.ms < 1000 ? 'yes' : 'NO',
            'rows (ours / hand)': `${ours.rows} / ${hand.rows}`,
            ...(i === 0 ? { 'dataset load s': round(loadSeconds) } : {}),
          },
        });
      }
    } finally {
      await store.close();
    }
    return results;
  },
};

interface BenchCase {
  name: string;
  ours: { sql: string; params: QueryParam[] };
  hand: string;
}

function benchCases(): BenchCase[] {
  const trends: TrendsRequest = { event: 'Viewed Product', from: FROM, to: TO, interval: 'day' };
  const unique: TrendsRequest = {
    event: '$pageview',
    from: FROM,
    to: TO,
    interval: 'day',
    measure: 'unique_users',
  };
  const funnel: FunnelRequest = {
    steps: [
      { event: 'Viewed Product' },
      { event: 'Added to Cart' },
      { event: 'Started Checkout' },
      { event: 'Purchased' },
    ],
    from: FROM,
    to: TO,
    conversionWindowSeconds: 86_400,
  };
  const retention: RetentionRequest = {
    startEvent: '$pageview',
    returnEvent: '$pageview',
    from: FROM,
    to: TO,
    period: 'week',
  };
  const person = 'coalesce(i.person_id, e.user_id, e.anonymous_id)';
  const join = 'LEFT JOIN identities i ON i.distinct_id = coalesce(e.user_id, e.anonymous_id)';
  return [
    {
      name: 'trends: daily count of one event, 30 days',
      ours: buildTrends(trends),
      hand: `SELECT date_trunc('day', timestamp) AS day, count(*) FROM events
             WHERE ${DAY_RANGE} AND event = 'Viewed Product' GROUP BY day ORDER BY day`,
    },
    {
      name: 'unique users: daily distinct people (stitched), 30 days',
      ours: buildTrends(unique),
      hand: `SELECT date_trunc('day', e.timestamp) AS day, count(DISTINCT ${person}) FROM events e ${join}
             WHERE e.${DAY_RANGE} AND e.type = 'page' GROUP BY day ORDER BY day`,
    },
    {
      name: 'funnel: 4 ordered steps, 1-day window',
      ours: buildFunnel(funnel),
      // The usual hand-written shape: each person's first step-1, then the first of each next step after it.
      hand: `WITH ev AS (
               SELECT ${person} AS p, e.timestamp AS ts, e.event FROM events e ${join}
               WHERE e.${DAY_RANGE} AND e.event IN ('Viewed Product', 'Added to Cart', 'Started Checkout', 'Purchased')
             ),
             s1 AS (SELECT p, min(ts) AS t1 FROM ev WHERE event = 'Viewed Product' GROUP BY p),
             s2 AS (SELECT s1.p, s1.t1, min(ev.ts) AS t2 FROM s1 JOIN ev ON ev.p = s1.p AND ev.event = 'Added to Cart'
                    AND ev.ts >= s1.t1 AND ev.ts <= s1.t1 + INTERVAL 1 DAY GROUP BY s1.p, s1.t1),
             s3 AS (SELECT s2.p, s2.t1, min(ev.ts) AS t3 FROM s2 JOIN ev ON ev.p = s2.p AND ev.event = 'Started Checkout'
                    AND ev.ts >= s2.t2 AND ev.ts <= s2.t1 + INTERVAL 1 DAY GROUP BY s2.p, s2.t1),
             s4 AS (SELECT s3.p FROM s3 JOIN ev ON ev.p = s3.p AND ev.event = 'Purchased'
                    AND ev.ts >= s3.t3 AND ev.ts <= s3.t1 + INTERVAL 1 DAY GROUP BY s3.p)
             SELECT (SELECT count(*) FROM s1), (SELECT count(*) FROM s2), (SELECT count(*) FROM s3), (SELECT count(*) FROM s4)`,
    },
    {
      name: 'retention: weekly cohorts, first pageview -> pageview',
      ours: buildRetention(retention),
      hand: `WITH ev AS (
               SELECT DISTINCT ${person} AS p, date_trunc('week', e.timestamp) AS w FROM events e ${join}
               WHERE e.${DAY_RANGE} AND e.type = 'page'
             ),
             cohorts AS (SELECT p, min(w) AS c FROM ev GROUP BY p)
             SELECT c.c, datediff('week', c.c, ev.w) AS k, count(*) FROM cohorts c JOIN ev ON ev.p = c.p
             GROUP BY ALL ORDER BY ALL`,
    },
    {
      name: 'top pages: pageviews and visitors, 30 days',
      ours: buildTopPages({ from: FROM, to: TO, limit: 10 }),
      hand: `SELECT e.page_path, count(*) AS views, count(DISTINCT ${person}) AS visitors
             FROM events e ${join} WHERE e.${DAY_RANGE} AND e.type = 'page'
             GROUP BY e.page_path ORDER BY views DESC LIMIT 10`,
    },
  ];
}

/** Bulk load in SQL (generate_series), straight into the store's file before the store opens it. */
export async function generate(
  path: string,
  events: number,
  users: number,
  ctx: BenchContext,
): Promise<void> {
  const created = await DuckDbStore.open(path);
  await created.close();
  const instance = await DuckDBInstance.create(path);
  const db = await instance.connect();
  ctx.progress('generating events', 0, 3);
  const sessions = Math.floor(events / 8);
  // hash(x) is deterministic across runs; every random choice below derives from it.
  await db.run(`
    INSERT INTO events (message_id, type, event, name, anonymous_id, user_id, group_id, previous_id, timestamp,
                        sent_at, received_at, source_id, properties, traits, context, page_path, is_bot, distinct_key)
    WITH s AS (
      SELECT sid, (hash(sid, 'user') % ${users})::BIGINT AS u, hash(sid, 'anon') % 10 < 3 AS anonymous,
             TIMESTAMP '2026-01-01' + to_seconds((hash(sid, 'start') % (30 * 86400 - 400))::BIGINT) AS start,
             (hash(sid, 'page') % 12)::BIGINT AS landing
      FROM range(${sessions}) t(sid)
    ), ev AS (
      SELECT s.*, k, sid * 8 + k AS i, (hash(sid, k) % 100)::BIGINT AS roll
      FROM s, range(8) r(k)
    ), named AS (
      SELECT *,
        CASE
          WHEN k = 0 THEN NULL
          WHEN k = 1 AND roll < 60 THEN 'Viewed Product'
          WHEN k = 2 AND roll < 35 THEN 'Added to Cart'
          WHEN k = 3 AND roll < 20 THEN 'Started Checkout'
          WHEN k = 4 AND roll < 12 THEN 'Purchased'
          WHEN k = 5 AND roll < 2 THEN 'Signed Up'
          WHEN roll < 30 THEN 'Clicked'
          WHEN roll < 45 THEN 'Searched'
          WHEN roll < 60 THEN 'Viewed Product'
          ELSE NULL
        END AS name_or_page,
        '/' || ['', 'pricing', 'docs', 'blog', 'products', 'products/a', 'products/b', 'cart', 'checkout', 'about', 'signup', 'login'][((landing + k) % 12) + 1] AS path
      FROM ev
    )
    SELECT 'm' || i,
           CASE WHEN name_or_page IS NULL THEN 'page' ELSE 'track' END,
           name_or_page, NULL,
           'anon-' || u,
           CASE WHEN anonymous THEN NULL ELSE 'user-' || u END,
           NULL, NULL,
           start + to_seconds(k * 45) AS ts, NULL, start + to_seconds(k * 45), 'src_bench',
           CASE WHEN name_or_page IS NULL THEN json_object('path', path)
                WHEN name_or_page = 'Purchased' THEN json_object('amount', roll * 3 + 5, 'currency', 'USD')
                ELSE json_object('plan', ['free', 'pro', 'team'][(hash(u) % 3)::BIGINT + 1]) END,
           NULL,
           json_object('page', json_object('path', path, 'referrer', ['https://www.google.com/', '', 'https://news.ycombinator.com/', ''][(hash(sid) % 4)::BIGINT + 1]),
                       'userAgent', ['Mozilla/5.0 (Macintosh) Safari/605.1.15', 'Mozilla/5.0 (Windows NT 10.0) Chrome/124.0 Safari/537.36', 'Mozilla/5.0 (iPhone) Mobile Safari/604.1'][(hash(u) % 3)::BIGINT + 1]),
           path, false,
           ${idKeySql("CASE WHEN anonymous THEN 'anon-' || u ELSE 'user-' || u END")}
    FROM named
    ORDER BY ts`);
  ctx.progress('linking identities', 1, 3);
  await db.run(
    `INSERT INTO identities (distinct_id, person_id, linked_at, distinct_key, person_key)
     SELECT 'anon-' || u, 'user-' || u, TIMESTAMP '2026-01-01', ${idKeySql("'anon-' || u")}, ${idKeySql("'user-' || u")}
     FROM range(${users}) t(u)`,
  );
  ctx.progress('checkpoint', 2, 3);
  await db.run('CHECKPOINT');
  db.closeSync();
  instance.closeSync();
}

async function median(run: () => Promise<{ rows: unknown[] }>): Promise<{ ms: number; rows: number }> {
  let rows = (await run()).rows.length;
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    rows = (await run()).rows.length;
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { ms: times[2]!, rows };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

export default workload;
