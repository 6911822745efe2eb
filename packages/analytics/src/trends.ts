import { type Static, Type } from '@sinclair/typebox';
import { TracklaneError } from '@tracklane/core';
import type { Store } from '@tracklane/storage';
import { dialectOf, duckdbDialect, type SqlDialect } from './dialects/index.ts';
import { type Interval, QueryBuilder } from './query-builder.ts';
import { EventName, Filters, PropertyName, TimeRange, validateRequest } from './request-schema.ts';

export const TrendsRequestSchema = Type.Object(
  {
    event: EventName,
    ...TimeRange,
    interval: Type.Optional(
      Type.Union(['minute', 'hour', 'day', 'week', 'month'].map((i) => Type.Literal(i as Interval))),
    ),
    measure: Type.Optional(
      Type.Union([
        Type.Literal('count'),
        Type.Literal('unique_users'),
        Type.Literal('sum'),
        Type.Literal('avg'),
      ]),
    ),
    /** The numeric property summed or averaged (measure sum / avg). */
    property: Type.Optional(PropertyName),
    breakdown: Type.Optional(PropertyName),
    /** Most frequent breakdown values kept. */
    breakdownLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    filters: Type.Optional(Filters),
  },
  { additionalProperties: false },
);
export type TrendsRequest = Static<typeof TrendsRequestSchema>;

export interface TrendsSeries {
  /** The breakdown value (text), or null for no breakdown / events without the property. */
  breakdown: string | null;
  /** Over the whole range: for unique_users the distinct people in the range, not a sum of buckets. */
  total: number;
  data: { bucket: string; value: number }[];
}

export interface TrendsResult {
  interval: Interval;
  timezone: string;
  measure: NonNullable<TrendsRequest['measure']>;
  series: TrendsSeries[];
}

/** Compiles a trends request to one SQL statement: buckets in the request's zone, zero-filled. */
export function buildTrends(
  request: TrendsRequest,
  dialect: SqlDialect = duckdbDialect,
): { sql: string; params: QueryBuilder['params'] } {
  const interval = request.interval ?? 'day';
  const measure = request.measure ?? 'count';
  const q = new QueryBuilder(request.timezone, dialect);
  const needsPerson = measure === 'unique_users';
  let value = 'NULL';
  if (measure === 'sum' || measure === 'avg') {
    value = q.numericProperty(request.property ?? '', '/property');
  }
  const aggregate = {
    count: 'count(*)',
    unique_users: q.sql.countDistinct('person_id', true),
    sum: 'coalesce(sum(value), 0)',
    avg: 'avg(value)',
  }[measure];
  const breakdown = request.breakdown === undefined ? 'NULL' : q.property(request.breakdown, '/breakdown');
  const where = `${q.timeRange(request.from, request.to)} AND ${q.eventIs(request.event)} AND ${q.filters(request.filters, '/filters')}`;
  const bucket = q.bucket(interval);
  const first = q.bucket(interval, q.instant(request.from));
  const last = q.localTime(q.instant(request.to));
  const limit = request.breakdown === undefined ? '' : q.bind(request.breakdownLimit ?? 25);
  const sql = `
    WITH ev AS (
      SELECT ${bucket} AS bucket, ${breakdown} AS breakdown, ${value} AS value
             ${needsPerson ? `, ${q.personKey()} AS person_id` : ''}
      FROM events e ${needsPerson ? q.identityJoin() : ''}
      WHERE ${where}
    ),
    agg AS (
      SELECT bucket, breakdown, ${aggregate} AS value, GROUPING(bucket) AS is_total
      FROM ev GROUP BY GROUPING SETS ((bucket, breakdown), (breakdown))
    ),
    keys AS (${
      request.breakdown === undefined
        ? // Without a breakdown there is always exactly one series, zero-filled even when nothing matched.
          'SELECT NULL AS breakdown, (SELECT value FROM agg WHERE is_total = 1) AS total'
        : `SELECT breakdown, value AS total FROM agg WHERE is_total = 1
           ORDER BY total DESC NULLS LAST, ${q.sql.textOrder('breakdown')} NULLS LAST LIMIT ${limit}`
    }),
    series AS (${q.sql.series(first, last, interval)})
    SELECT k.breakdown, k.total, ${q.sql.formatLocal('s.bucket')} AS bucket, a.value
    FROM keys k CROSS JOIN series s
    LEFT JOIN agg a ON a.is_total = 0 AND a.bucket = s.bucket AND ${q.sql.nullSafeEquals('a.breakdown', 'k.breakdown')}
    ORDER BY k.total DESC NULLS LAST, ${q.sql.textOrder('k.breakdown')} NULLS LAST, s.bucket`;
  return { sql, params: q.params };
}

export async function runTrends(store: Store, body: unknown): Promise<TrendsResult> {
  const request = validateRequest(TrendsRequestSchema, body);
  if ((request.measure === 'sum' || request.measure === 'avg') && request.property === undefined) {
    throw new TracklaneError(
      'E_VALIDATION',
      `invalid request: /property is required for measure ${request.measure}`,
      {
        fields: [{ path: '/property', message: `is required for measure ${request.measure}` }],
      },
    );
  }
  const { sql, params } = buildTrends(request, dialectOf(store));
  const result = await store.query(sql, { params, maxRows: 100_000 });
  const series: TrendsSeries[] = [];
  let current: TrendsSeries | undefined;
  for (const [breakdown, total, bucket, value] of result.rows) {
    const key = breakdown === null ? null : String(breakdown);
    if (current === undefined || current.breakdown !== key) {
      current = { breakdown: key, total: Number(total ?? 0), data: [] };
      series.push(current);
    }
    current.data.push({ bucket: String(bucket), value: Number(value ?? 0) });
  }
  return {
    interval: request.interval ?? 'day',
    timezone: request.timezone ?? 'UTC',
    measure: request.measure ?? 'count',
    series,
  };
}
