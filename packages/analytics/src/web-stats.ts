import { type Static, Type } from '@sinclair/typebox';
import type { Store } from '@tracklane/storage';
import { IDENTITY_JOIN, PERSON_KEY, QueryBuilder } from './query-builder.ts';
import { TimeRange, validateRequest } from './request-schema.ts';

export const WebStatsRequestSchema = Type.Object(
  {
    ...TimeRange,
    /** Rows per top-N list. */
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    sessionGapSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 86_400 })),
  },
  { additionalProperties: false },
);
export type WebStatsRequest = Static<typeof WebStatsRequestSchema>;

export interface Ranked {
  value: string;
  sessions: number;
  visitors: number;
}

export interface WebStatsResult {
  visitors: number;
  sessions: number;
  pageviews: number;
  /** Sessions with a single event (one pageview and nothing else), over all sessions. */
  bounceRate: number;
  /** Mean of (last event - first event) per session. */
  avgSessionSeconds: number;
  topPages: { path: string; pageviews: number; visitors: number }[];
  entryPages: Ranked[];
  referrers: Ranked[];
  utmSources: Ranked[];
  utmMediums: Ranked[];
  utmCampaigns: Ranked[];
  devices: Ranked[];
  browsers: Ranked[];
  os: Ranked[];
  countries: Ranked[];
}

// Read from `context`: first what the collector's enrichment adds under `context.tracklane` (ua, geo, page),
// then Segment's own fields, then a coarse reading of the raw user agent.
// Every field is optional: missing ones become NULL and are left out of the top lists.
const UA = `json_extract_string(e.context, '$.userAgent')`;
const DIMENSIONS = {
  path: 'e.page_path',
  referrer: `coalesce(json_extract_string(e.context, '$.tracklane.page.referrerHost'), nullif(regexp_extract(coalesce(json_extract_string(e.context, '$.page.referrer'), json_extract_string(e.properties, '$.referrer')), '^[a-zA-Z][a-zA-Z0-9+.-]*://([^/:?#]+)', 1), ''), '$direct')`,
  utm_source: `json_extract_string(e.context, '$.campaign.source')`,
  utm_medium: `json_extract_string(e.context, '$.campaign.medium')`,
  utm_campaign: `json_extract_string(e.context, '$.campaign.name')`,
  device: `coalesce(json_extract_string(e.context, '$.tracklane.ua.device.type'), json_extract_string(e.context, '$.device.type'), CASE WHEN ${UA} IS NULL THEN NULL WHEN regexp_matches(${UA}, 'iPad|Tablet') THEN 'tablet' WHEN regexp_matches(${UA}, 'Mobi|iPhone|Android') THEN 'mobile' ELSE 'desktop' END)`,
  browser: `coalesce(json_extract_string(e.context, '$.tracklane.ua.browser.name'), json_extract_string(e.context, '$.browser.name'), CASE WHEN ${UA} IS NULL THEN NULL WHEN regexp_matches(${UA}, 'Edg/') THEN 'Edge' WHEN regexp_matches(${UA}, 'OPR/|Opera') THEN 'Opera' WHEN regexp_matches(${UA}, 'Firefox/|FxiOS') THEN 'Firefox' WHEN regexp_matches(${UA}, 'Chrome/|CriOS') THEN 'Chrome' WHEN regexp_matches(${UA}, 'Safari/') THEN 'Safari' ELSE 'Other' END)`,
  os: `coalesce(json_extract_string(e.context, '$.tracklane.ua.os.name'), json_extract_string(e.context, '$.os.name'), CASE WHEN ${UA} IS NULL THEN NULL WHEN regexp_matches(${UA}, 'iPhone|iPad|iPod') THEN 'iOS' WHEN regexp_matches(${UA}, 'Android') THEN 'Android' WHEN regexp_matches(${UA}, 'Windows') THEN 'Windows' WHEN regexp_matches(${UA}, 'Mac OS X|Macintosh') THEN 'macOS' WHEN regexp_matches(${UA}, 'Linux') THEN 'Linux' ELSE 'Other' END)`,
  country: `coalesce(json_extract_string(e.context, '$.tracklane.geo.country'), json_extract_string(e.context, '$.location.country'), json_extract_string(e.context, '$.geo.country'), json_extract_string(e.context, '$.country'))`,
} as const;

/** Crawlers flagged by the collector are not visitors. */
const NOT_BOT = 'e.is_bot IS NOT TRUE';

/** Session-level dimensions, taken from each session's first event. */
const SESSION_DIMENSIONS = [
  'path',
  'referrer',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'device',
  'browser',
  'os',
  'country',
] as const;

/** One statement for the session summary and every session-level top list (GROUPING SETS). */
export function buildWebSessions(request: WebStatsRequest): { sql: string; params: QueryBuilder['params'] } {
  const q = new QueryBuilder(request.timezone);
  const gap = q.bind(request.sessionGapSeconds ?? 1800);
  const dims = SESSION_DIMENSIONS.map((d) => `${DIMENSIONS[d]} AS ${d}`).join(', ');
  const firsts = SESSION_DIMENSIONS.map((d) => `arg_min(${d}, ts) AS ${d}`).join(', ');
  const sets = SESSION_DIMENSIONS.map((d) => `(${d})`).join(', ');
  const sql = `
    WITH ev AS (
      SELECT ${PERSON_KEY} AS person_id, e.timestamp AS ts, e.message_id, e.type, ${dims}
      FROM events e ${IDENTITY_JOIN}
      WHERE ${q.timeRange(request.from, request.to)} AND e.type IN ('page', 'screen', 'track')
        AND ${NOT_BOT} AND ${q.filters(request.filters, '/filters')}
    ),
    marked AS (
      SELECT *, CASE WHEN lag(ts) OVER p IS NULL OR ts - lag(ts) OVER p > to_seconds(${gap}::BIGINT) THEN 1 ELSE 0 END AS starts
      FROM ev WINDOW p AS (PARTITION BY person_id ORDER BY ts, message_id)
    ),
    numbered AS (SELECT *, sum(starts) OVER (PARTITION BY person_id ORDER BY ts, message_id) AS session FROM marked),
    sessions AS (
      SELECT person_id, session, count(*) AS events, count(*) FILTER (WHERE type = 'page') AS pageviews,
             epoch_ms(max(ts)) - epoch_ms(min(ts)) AS duration_ms, ${firsts}
      FROM numbered GROUP BY person_id, session
    ),
    grouped AS (
      SELECT ${SESSION_DIMENSIONS.map((d) => `GROUPING(${d}) = 0 AS by_${d}`).join(', ')},
             coalesce(${SESSION_DIMENSIONS.join(', ')}) AS value,
             count(*) AS sessions, count(DISTINCT person_id) AS visitors, sum(pageviews) AS pageviews,
             avg(CASE WHEN events = 1 THEN 1.0 ELSE 0.0 END) AS bounce_rate, avg(duration_ms) / 1000.0 AS avg_seconds
      FROM sessions GROUP BY GROUPING SETS (${sets}, ())
    ),
    ranked AS (
      SELECT *, row_number() OVER (PARTITION BY ${SESSION_DIMENSIONS.map((d) => `by_${d}`).join(', ')} ORDER BY sessions DESC, visitors DESC, value) AS rank
      FROM grouped
    )
    SELECT CASE ${SESSION_DIMENSIONS.map((d) => `WHEN by_${d} THEN '${d}'`).join(' ')} ELSE 'total' END AS dimension,
           value, sessions, visitors, pageviews, bounce_rate, avg_seconds
    FROM ranked
    WHERE rank <= ${q.bind(request.limit ?? 10)} AND (value IS NOT NULL OR NOT (${SESSION_DIMENSIONS.map((d) => `by_${d}`).join(' OR ')}))
    ORDER BY dimension, rank`;
  return { sql, params: q.params };
}

/** Top pages by pageviews, with distinct visitors. */
export function buildTopPages(request: WebStatsRequest): { sql: string; params: QueryBuilder['params'] } {
  const q = new QueryBuilder(request.timezone);
  const sql = `
    SELECT ${DIMENSIONS.path} AS path, count(*) AS pageviews, count(DISTINCT ${PERSON_KEY}) AS visitors
    FROM events e ${IDENTITY_JOIN}
    WHERE ${q.timeRange(request.from, request.to)} AND e.type = 'page' AND ${NOT_BOT}
      AND ${q.filters(request.filters, '/filters')}
      AND path IS NOT NULL
    GROUP BY path ORDER BY pageviews DESC, visitors DESC, path LIMIT ${q.bind(request.limit ?? 10)}`;
  return { sql, params: q.params };
}

export async function runWebStats(store: Store, body: unknown): Promise<WebStatsResult> {
  const request = validateRequest(WebStatsRequestSchema, body);
  const sessions = buildWebSessions(request);
  const pages = buildTopPages(request);
  const [bySession, topPages] = await Promise.all([
    store.query(sessions.sql, { params: sessions.params, maxRows: 10_000 }),
    store.query(pages.sql, { params: pages.params, maxRows: 1_000 }),
  ]);
  const lists = new Map<string, Ranked[]>();
  let total = { sessions: 0, visitors: 0, pageviews: 0, bounceRate: 0, avgSessionSeconds: 0 };
  for (const [dimension, value, s, v, pv, bounce, seconds] of bySession.rows) {
    if (dimension === 'total') {
      total = {
        sessions: Number(s),
        visitors: Number(v),
        pageviews: Number(pv ?? 0),
        bounceRate: round(Number(bounce ?? 0)),
        avgSessionSeconds: round(Number(seconds ?? 0)),
      };
      continue;
    }
    const list = lists.get(String(dimension)) ?? [];
    list.push({ value: String(value), sessions: Number(s), visitors: Number(v) });
    lists.set(String(dimension), list);
  }
  const list = (d: (typeof SESSION_DIMENSIONS)[number]) => lists.get(d) ?? [];
  return {
    ...total,
    topPages: topPages.rows.map(([path, pageviews, visitors]) => ({
      path: String(path),
      pageviews: Number(pageviews),
      visitors: Number(visitors),
    })),
    entryPages: list('path'),
    referrers: list('referrer'),
    utmSources: list('utm_source'),
    utmMediums: list('utm_medium'),
    utmCampaigns: list('utm_campaign'),
    devices: list('device'),
    browsers: list('browser'),
    os: list('os'),
    countries: list('country'),
  };
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
