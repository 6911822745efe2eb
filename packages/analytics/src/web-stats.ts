import { type Static, Type } from '@sinclair/typebox';
import type { Store } from '@tracklane/storage';
import { dialectOf, duckdbDialect, type SqlDialect } from './dialects/index.ts';
import { QueryBuilder } from './query-builder.ts';
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
function dimensions(d: SqlDialect) {
  const context = (...keys: string[]) => d.jsonTextFixed('e.context', keys);
  const ua = context('userAgent');
  const uaIs = (pattern: string) => d.regexpMatches(ua, `'${pattern}'`);
  const fromUa = (cases: [string, string][], otherwise: string) =>
    `CASE WHEN ${ua} IS NULL THEN NULL ${cases.map(([p, v]) => `WHEN ${uaIs(p)} THEN '${v}'`).join(' ')} ELSE '${otherwise}' END`;
  const pageReferrer = `coalesce(${context('page', 'referrer')}, ${d.jsonTextFixed('e.properties', ['referrer'])})`;
  return {
    path: 'e.page_path',
    referrer: `coalesce(${context('tracklane', 'page', 'referrerHost')}, nullif(${d.regexpGroup(pageReferrer, "'^[a-zA-Z][a-zA-Z0-9+.-]*://([^/:?#]+)'")}, ''), '$direct')`,
    utm_source: context('campaign', 'source'),
    utm_medium: context('campaign', 'medium'),
    utm_campaign: context('campaign', 'name'),
    device: `coalesce(${context('tracklane', 'ua', 'device', 'type')}, ${context('device', 'type')}, ${fromUa(
      [
        ['iPad|Tablet', 'tablet'],
        ['Mobi|iPhone|Android', 'mobile'],
      ],
      'desktop',
    )})`,
    browser: `coalesce(${context('tracklane', 'ua', 'browser', 'name')}, ${context('browser', 'name')}, ${fromUa(
      [
        ['Edg/', 'Edge'],
        ['OPR/|Opera', 'Opera'],
        ['Firefox/|FxiOS', 'Firefox'],
        ['Chrome/|CriOS', 'Chrome'],
        ['Safari/', 'Safari'],
      ],
      'Other',
    )})`,
    os: `coalesce(${context('tracklane', 'ua', 'os', 'name')}, ${context('os', 'name')}, ${fromUa(
      [
        ['iPhone|iPad|iPod', 'iOS'],
        ['Android', 'Android'],
        ['Windows', 'Windows'],
        ['Mac OS X|Macintosh', 'macOS'],
        ['Linux', 'Linux'],
      ],
      'Other',
    )})`,
    country: `coalesce(${context('tracklane', 'geo', 'country')}, ${context('location', 'country')}, ${context('geo', 'country')}, ${context('country')})`,
  } as const;
}

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
export function buildWebSessions(
  request: WebStatsRequest,
  dialect: SqlDialect = duckdbDialect,
): { sql: string; params: QueryBuilder['params'] } {
  const q = new QueryBuilder(request.timezone, dialect);
  const d = q.sql;
  const gap = q.bind(request.sessionGapSeconds ?? 1800);
  const dimension = dimensions(d);
  const dims = SESSION_DIMENSIONS.map((name) => `${dimension[name]} AS ${name}`).join(', ');
  const firsts = SESSION_DIMENSIONS.map((name) => `${d.argMin(name, 'ts')} AS ${name}`).join(', ');
  const sets = SESSION_DIMENSIONS.map((name) => `(${name})`).join(', ');
  const previous = d.shift('lag', 'ts', 1, 'p');
  const sql = `
    WITH ev AS (
      SELECT ${q.personKey()} AS person_id, e.timestamp AS ts, e.message_id, e.type, ${dims}
      FROM events e ${q.identityJoin()}
      WHERE ${q.timeRange(request.from, request.to)} AND e.type IN ('page', 'screen', 'track')
        -- Crawlers flagged by the collector are not visitors.
        AND ${d.notTrue('e.is_bot')} AND ${q.filters(request.filters, '/filters')}
    ),
    marked AS (
      SELECT *, CASE WHEN ${previous} IS NULL OR ${d.gapExceeds('ts', previous, gap)} THEN 1 ELSE 0 END AS starts
      FROM ev WINDOW p AS (PARTITION BY person_id ORDER BY ts, message_id)
    ),
    numbered AS (SELECT *, sum(starts) OVER (PARTITION BY person_id ORDER BY ts, message_id) AS session FROM marked),
    sessions AS (
      SELECT person_id, session, count(*) AS events, count(*) FILTER (WHERE type = 'page') AS pageviews,
             ${d.epochMs('max(ts)')} - ${d.epochMs('min(ts)')} AS duration_ms, ${firsts}
      FROM numbered GROUP BY person_id, session
    ),
    grouped AS (
      SELECT ${SESSION_DIMENSIONS.map((name) => `GROUPING(${name}) = 0 AS by_${name}`).join(', ')},
             coalesce(${SESSION_DIMENSIONS.join(', ')}) AS value,
             count(*) AS sessions, ${d.countDistinct('person_id', true)} AS visitors, sum(pageviews) AS pageviews,
             avg(CASE WHEN events = 1 THEN 1.0 ELSE 0.0 END) AS bounce_rate, avg(duration_ms) / 1000.0 AS avg_seconds
      FROM sessions GROUP BY GROUPING SETS (${sets}, ())
    ),
    ranked AS (
      SELECT *, row_number() OVER (PARTITION BY ${SESSION_DIMENSIONS.map((name) => `by_${name}`).join(', ')} ORDER BY sessions DESC, visitors DESC, ${d.textOrder('value')}) AS rank
      FROM grouped
    )
    SELECT CASE ${SESSION_DIMENSIONS.map((name) => `WHEN by_${name} THEN '${name}'`).join(' ')} ELSE 'total' END AS dimension,
           value, sessions, visitors, pageviews, bounce_rate, avg_seconds
    FROM ranked
    WHERE rank <= ${q.bind(request.limit ?? 10)} AND (value IS NOT NULL OR NOT (${SESSION_DIMENSIONS.map((name) => `by_${name}`).join(' OR ')}))
    ORDER BY dimension, rank`;
  return { sql, params: q.params };
}

/** Top pages by pageviews, with distinct visitors. */
export function buildTopPages(
  request: WebStatsRequest,
  dialect: SqlDialect = duckdbDialect,
): { sql: string; params: QueryBuilder['params'] } {
  const q = new QueryBuilder(request.timezone, dialect);
  const d = q.sql;
  const sql = `
    SELECT e.page_path AS path, count(*) AS pageviews, ${d.countDistinct(q.personKey(), true)} AS visitors
    FROM events e ${q.identityJoin()}
    WHERE ${q.timeRange(request.from, request.to)} AND e.type = 'page' AND ${d.notTrue('e.is_bot')}
      AND ${q.filters(request.filters, '/filters')}
      AND e.page_path IS NOT NULL
    GROUP BY e.page_path ORDER BY pageviews DESC, visitors DESC, ${d.textOrder('e.page_path')} LIMIT ${q.bind(request.limit ?? 10)}`;
  return { sql, params: q.params };
}

export async function runWebStats(store: Store, body: unknown): Promise<WebStatsResult> {
  const request = validateRequest(WebStatsRequestSchema, body);
  const dialect = dialectOf(store);
  const sessions = buildWebSessions(request, dialect);
  const pages = buildTopPages(request, dialect);
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
