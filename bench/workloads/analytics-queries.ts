import { existsSync } from 'node:fs';
import { copyFile, rename, rm } from 'node:fs/promises';
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
 * Both run through `Store.query`, alternately (so load from other work hits both alike); the figure is the
 * median of 5 runs after a warm-up, with the process CPU time (DuckDB's threads included) beside it, which
 * a shared machine disturbs less than wall time. Ratio = hand / ours. Where both return the same shape, the
 * answers are compared too.
 *
 * TRACKLANE_BENCH_CACHE=DIR keeps the generated dataset in DIR between runs (generation takes ~1 min); an
 * older cached file is upgraded by the store's migrations when opened.
 */
const FROM = '2026-01-01T00:00:00Z';
const TO = '2026-01-31T00:00:00Z';
const DAY_RANGE = "timestamp >= TIMESTAMP '2026-01-01' AND timestamp < TIMESTAMP '2026-01-31'";
/** Bump when `generate` changes, so a cached dataset of the old shape is not reused. */
const DATASET_VERSION = 1;

const workload: Workload = {
  name: 'analytics-queries',
  description:
    'trends, unique users, 4-step funnel, weekly retention, top pages on 10M events vs hand-written SQL',
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const events = ctx.quick ? 1_000_000 : 10_000_000;
    const users = ctx.quick ? 20_000 : 200_000;
    const cacheDir = process.env.TRACKLANE_BENCH_CACHE;
    const path =
      cacheDir === undefined
        ? join(ctx.tmpDir, 'analytics.duckdb')
        : join(cacheDir, `analytics-${events}-v${DATASET_VERSION}.duckdb`);
    const loadStarted = performance.now();
    if (!existsSync(path)) {
      // Generated aside and renamed, so an interrupted run never leaves half a dataset in the cache.
      const fresh = join(ctx.tmpDir, 'fresh.duckdb');
      await generate(fresh, events, users, ctx);
      await rename(fresh, path).catch(async () => {
        await copyFile(fresh, path);
        await rm(fresh);
      });
    }
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const store = await DuckDbStore.open(path, { queryTimeoutMs: 120_000 });
    const results: BenchResult[] = [];
    try {
      const cases = benchCases();
      for (const [i, c] of cases.entries()) {
        ctx.progress(`query ${c.name}`, i, cases.length);
        const [ours, hand] = await alternately(
          () => store.query(c.ours.sql, { params: c.ours.params, maxRows: 100_000 }),
          () => store.query(c.hand, { maxRows: 100_000 }),
        );
        const same: Record<string, string> =
          c.sameShape === true ? { 'same answer': sameRows(ours.rows, hand.rows) ? 'yes' : 'NO' } : {};
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
            'rows (ours / hand)': `${ours.rows.length} / ${hand.rows.length}`,
            'cpu ms (ours / hand)': `${Math.round(ours.cpuMs)} / ${Math.round(hand.cpuMs)}`,
            ...same,
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
  /** The hand-written query returns exactly our rows, so the answers are compared. */
  sameShape?: boolean;
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
  // The best plain SQL for each question uses the person keys the store keeps on every row, as ours does.
  const person = 'coalesce(i.person_key, e.distinct_key)';
  const join = 'LEFT JOIN identities i ON i.distinct_key = e.distinct_key';
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
      sameShape: true,
      // Same answer (each person's best start, greedy earliest next steps, median times of the best chain):
      // only the last view before each cart, or a person's last view, can be a best start; one window pass
      // finds those, ASOF joins follow checkout and purchase, arg_max keeps the furthest, latest start.
      hand: `WITH ev AS MATERIALIZED (
               SELECT ${person} AS p, e.timestamp AS ts, e.event = 'Viewed Product' AS v,
                      e.event = 'Added to Cart' AS a, e.event = 'Started Checkout' AS c, e.event = 'Purchased' AS b
               FROM events e ${join}
               WHERE e.${DAY_RANGE} AND e.event IN ('Viewed Product', 'Added to Cart', 'Started Checkout', 'Purchased')
             ),
             checkouts AS (SELECT p, ts FROM ev WHERE c),
             purchases AS (SELECT p, ts FROM ev WHERE b),
             starts AS (
               SELECT p, ts AS t0, CASE WHEN next_a THEN next_ts END AS t1 FROM (
                 SELECT p, ts, v, lead(a) OVER w AS next_a, lead(ts) OVER w AS next_ts
                 FROM ev WHERE v OR a WINDOW w AS (PARTITION BY p ORDER BY ts, v DESC)
               ) WHERE v AND (next_a OR next_ts IS NULL)
             ),
             chains AS (
               SELECT s.p, s.t0, s.t1, c.ts AS t2, b.ts AS t3
               FROM (SELECT * FROM starts WHERE t1 <= t0 + INTERVAL 1 DAY) s
               ASOF LEFT JOIN checkouts c ON c.p = s.p AND c.ts >= s.t1
               ASOF LEFT JOIN purchases b ON b.p = s.p AND b.ts >= c.ts
               UNION ALL
               SELECT p, t0, t1, NULL, NULL FROM starts WHERE t1 IS NULL OR t1 > t0 + INTERVAL 1 DAY
             ),
             scored AS (
               SELECT p, [t0, t1, t2, t3] AS t, CASE WHEN t1 IS NULL OR t1 > t0 + INTERVAL 1 DAY THEN 1
                 WHEN t2 IS NULL OR t2 > t0 + INTERVAL 1 DAY THEN 2 WHEN t3 IS NULL OR t3 > t0 + INTERVAL 1 DAY THEN 3
                 ELSE 4 END AS reached
               FROM chains
             ),
             best AS (
               SELECT p, arg_max(t, reached * 10000000000000 + epoch_ms(t[1])) AS t, max(reached) AS reached
               FROM scored GROUP BY p
             )
             SELECT NULL AS breakdown, count(*), count(*) FILTER (reached >= 2), count(*) FILTER (reached >= 3),
                    count(*) FILTER (reached >= 4),
                    median((epoch_ms(t[2]) - epoch_ms(t[1])) / 1000.0) FILTER (reached >= 2),
                    median((epoch_ms(t[3]) - epoch_ms(t[2])) / 1000.0) FILTER (reached >= 3),
                    median((epoch_ms(t[4]) - epoch_ms(t[3])) / 1000.0) FILTER (reached >= 4)
             FROM best`,
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

interface Timed {
  ms: number;
  cpuMs: number;
  rows: unknown[][];
}

/** A warm-up of each, then 5 rounds of `a` then `b`; medians of wall and process CPU time. */
async function alternately(
  a: () => Promise<{ rows: unknown[][] }>,
  b: () => Promise<{ rows: unknown[][] }>,
): Promise<[Timed, Timed]> {
  const runs = [a, b].map((run) => ({
    run,
    ms: [] as number[],
    cpu: [] as number[],
    rows: [] as unknown[][],
  }));
  for (const r of runs) r.rows = (await r.run()).rows;
  for (let i = 0; i < 5; i++) {
    for (const r of runs) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      r.rows = (await r.run()).rows;
      r.ms.push(performance.now() - started);
      const used = process.cpuUsage(cpu);
      r.cpu.push((used.user + used.system) / 1000);
    }
  }
  const mid = (xs: number[]) => [...xs].sort((x, y) => x - y)[2]!;
  const [x, y] = runs.map((r) => ({ ms: mid(r.ms), cpuMs: mid(r.cpu), rows: r.rows }));
  return [x!, y!];
}

/** Equal up to float rounding (medians are computed in floating point by both). */
function sameRows(a: unknown[][], b: unknown[][]): boolean {
  const norm = (rows: unknown[][]) =>
    JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 1000) / 1000 : v));
  return norm(a) === norm(b);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

export default workload;
