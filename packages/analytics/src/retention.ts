import { type Static, Type } from '@sinclair/typebox';
import type { Store } from '@tracklane/storage';
import { IDENTITY_JOIN, PERSON_KEY, QueryBuilder } from './query-builder.ts';
import { EventName, Filters, TimeRange, validateRequest } from './request-schema.ts';

export const RetentionRequestSchema = Type.Object(
  {
    /** A person's cohort is the period of their first `startEvent` in the range. */
    startEvent: EventName,
    /** What counts as coming back in a later period. */
    returnEvent: EventName,
    ...TimeRange,
    period: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')])),
    startFilters: Type.Optional(Filters),
    returnFilters: Type.Optional(Filters),
    filters: Type.Optional(Filters),
  },
  { additionalProperties: false },
);
export type RetentionRequest = Static<typeof RetentionRequestSchema>;

export interface RetentionCohort {
  /** Start of the cohort's period, local wall-clock time in the request's zone. */
  cohort: string;
  size: number;
  /** values[0] = size; values[k] = people of the cohort who did returnEvent k periods later. One entry per
   * period up to the end of the range. */
  values: number[];
}

export interface RetentionResult {
  period: NonNullable<RetentionRequest['period']>;
  timezone: string;
  cohorts: RetentionCohort[];
}

export function buildRetention(request: RetentionRequest): { sql: string; params: QueryBuilder['params'] } {
  const q = new QueryBuilder(request.timezone);
  const period = request.period ?? 'week';
  const isStart = `(${q.eventIs(request.startEvent)} AND ${q.filters(request.startFilters, '/startFilters')})`;
  const isReturn = `(${q.eventIs(request.returnEvent)} AND ${q.filters(request.returnFilters, '/returnFilters')})`;
  const unit = q.unit(period);
  // The last period the range touches: `to` is exclusive, so step back by a microsecond.
  const lastPeriod = q.bucket(period, `(${q.instant(request.to)} - INTERVAL 1 MICROSECOND)`);
  const sql = `
    WITH ev AS (
      SELECT ${PERSON_KEY} AS person_id, ${q.bucket(period)} AS period, ${isStart} AS is_start, ${isReturn} AS is_return
      FROM events e ${IDENTITY_JOIN}
      WHERE ${q.timeRange(request.from, request.to)} AND ${q.filters(request.filters, '/filters')}
        AND (${isStart} OR ${isReturn})
    ),
    cohorts AS (SELECT person_id, min(period) AS cohort FROM ev WHERE is_start GROUP BY person_id),
    returns AS (SELECT DISTINCT person_id, period FROM ev WHERE is_return),
    sizes AS (
      SELECT cohort, count(*) AS size, datediff(${unit}, cohort, ${lastPeriod}) + 1 AS periods
      FROM cohorts GROUP BY cohort
    ),
    back AS (
      SELECT c.cohort, datediff(${unit}, c.cohort, r.period) AS k, count(*) AS n
      FROM cohorts c JOIN returns r ON r.person_id = c.person_id AND r.period > c.cohort
      GROUP BY ALL
    )
    SELECT strftime(s.cohort, '%Y-%m-%dT%H:%M:%S') AS cohort, s.size, s.periods,
           coalesce(list(b.k ORDER BY b.k) FILTER (WHERE b.k IS NOT NULL), []) AS ks,
           coalesce(list(b.n ORDER BY b.k) FILTER (WHERE b.k IS NOT NULL), []) AS ns
    FROM sizes s LEFT JOIN back b ON b.cohort = s.cohort
    GROUP BY s.cohort, s.size, s.periods ORDER BY s.cohort`;
  return { sql, params: q.params };
}

export async function runRetention(store: Store, body: unknown): Promise<RetentionResult> {
  const request = validateRequest(RetentionRequestSchema, body);
  const { sql, params } = buildRetention(request);
  const result = await store.query(sql, { params, maxRows: 10_000 });
  return {
    period: request.period ?? 'week',
    timezone: request.timezone ?? 'UTC',
    cohorts: result.rows.map(([cohort, size, periods, ks, ns]) => {
      const values = new Array<number>(Math.max(1, Number(periods))).fill(0);
      values[0] = Number(size);
      (ks as number[]).forEach((k, i) => {
        if (k < values.length) values[k] = Number((ns as number[])[i]);
      });
      return { cohort: String(cohort), size: Number(size), values };
    }),
  };
}
