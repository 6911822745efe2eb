import { type Static, Type } from '@sinclair/typebox';
import type { Store } from '@tracklane/storage';
import { dialectOf, duckdbDialect, type SqlDialect } from './dialects/index.ts';
import { QueryBuilder } from './query-builder.ts';
import { TimeRange, validateRequest } from './request-schema.ts';

export const PathsRequestSchema = Type.Object(
  {
    /** The event name (kind events) or page path (kind pages) the paths start or end at. */
    anchor: Type.String({ minLength: 1, maxLength: 512 }),
    kind: Type.Optional(Type.Union([Type.Literal('events'), Type.Literal('pages')])),
    direction: Type.Optional(Type.Union([Type.Literal('next'), Type.Literal('previous')])),
    /** How many steps after (or before) the anchor each path has. */
    depth: Type.Optional(Type.Integer({ minimum: 1, maximum: 5 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    /** Inactivity that ends a session; paths never cross sessions. */
    sessionGapSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 86_400 })),
    ...TimeRange,
  },
  { additionalProperties: false },
);
export type PathsRequest = Static<typeof PathsRequestSchema>;

export interface PathsResult {
  kind: 'events' | 'pages';
  direction: 'next' | 'previous';
  /** Most common first. `steps` runs away from the anchor; `$end` marks the session's edge. */
  paths: { steps: string[]; count: number; people: number }[];
}

/** Labels of a person's stream: track events by name, pages and screens as `$pageview`/`$screen`. */
const EVENT_LABEL = `CASE e.type WHEN 'track' THEN e.event WHEN 'page' THEN '$pageview' WHEN 'screen' THEN '$screen' END`;
/** Page views by path (the store extracts `page_path` on insert). */
const PAGE_LABEL = `CASE WHEN e.type = 'page' THEN e.page_path END`;

export function buildPaths(
  request: PathsRequest,
  dialect: SqlDialect = duckdbDialect,
): { sql: string; params: QueryBuilder['params'] } {
  const q = new QueryBuilder(request.timezone, dialect);
  const kind = request.kind ?? 'events';
  const depth = request.depth ?? 1;
  const shift = (request.direction ?? 'next') === 'next' ? 'lead' : 'lag';
  const label = kind === 'events' ? EVENT_LABEL : PAGE_LABEL;
  const gap = q.bind(request.sessionGapSeconds ?? 1800);
  const names = Array.from({ length: depth }, (_, k) => `n${k + 1}`);
  const steps = names.map((n, k) => `coalesce(${q.sql.shift(shift, 'label', k + 1, 's')}, '$end') AS ${n}`);
  const previous = q.sql.shift('lag', 'ts', 1, 'p');
  const sql = `
    WITH ev AS (
      SELECT ${q.personKey()} AS person_id, e.timestamp AS ts, e.message_id, ${label} AS label
      FROM events e ${q.identityJoin()}
      WHERE ${q.timeRange(request.from, request.to)} AND ${q.filters(request.filters, '/filters')} AND ${label} IS NOT NULL
    ),
    gaps AS (
      SELECT *, CASE WHEN ${q.sql.gapExceeds('ts', previous, gap)} OR ${previous} IS NULL THEN 1 ELSE 0 END AS starts
      FROM ev WINDOW p AS (PARTITION BY person_id ORDER BY ts, message_id)
    ),
    sessions AS (
      SELECT *, sum(starts) OVER (PARTITION BY person_id ORDER BY ts, message_id) AS session FROM gaps
    ),
    walks AS (
      SELECT person_id, label, ${steps.join(', ')}
      FROM sessions WINDOW s AS (PARTITION BY person_id, session ORDER BY ts, message_id)
    )
    SELECT ${names.join(', ')}, count(*) AS n, ${q.sql.countDistinct('person_id', true)} AS people
    FROM walks WHERE label = ${q.bind(request.anchor)}
    GROUP BY ${names.join(', ')}
    ORDER BY n DESC, people DESC, ${names.map((n) => q.sql.textOrder(n)).join(', ')}
    LIMIT ${q.bind(request.limit ?? 20)}`;
  return { sql, params: q.params };
}

export async function runPaths(store: Store, body: unknown): Promise<PathsResult> {
  const request = validateRequest(PathsRequestSchema, body);
  const { sql, params } = buildPaths(request, dialectOf(store));
  const result = await store.query(sql, { params, maxRows: 500 });
  const depth = request.depth ?? 1;
  return {
    kind: request.kind ?? 'events',
    direction: request.direction ?? 'next',
    paths: result.rows.map((row) => ({
      steps: row.slice(0, depth).map(String),
      count: Number(row[depth]),
      people: Number(row[depth + 1]),
    })),
  };
}
