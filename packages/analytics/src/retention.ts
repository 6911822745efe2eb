import { type Static, Type } from '@sinclair/typebox';
import type { Store } from '@tracklane/storage';
import { dialectOf, duckdbDialect, type SqlDialect } from './dialects/index.ts';
import { QueryBuilder } from './query-builder.ts';
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

export function buildRetention(
  request: RetentionRequest,
  dialect: SqlDialect = duckdbDialect,
): { sql: string; params: QueryBuilder['params'] } {
  const q = new QueryBuilder(request.timezone, dialect);
  const period = request.period ?? 'week';
  const isStart = `(${q.eventIs(request.startEvent)} AND ${q.filters(request.startFilters, '/startFilters')})`;
  const isReturn = `(${q.eventIs(request.returnEvent)} AND ${q.filters(request.returnFilters, '/returnFilters')})`;
  // The last period the range touches: `to` is exclusive, so step back just before it.
  const lastPeriod = q.bucket(period, q.sql.justBefore(q.instant(request.to)));
  // One row per cohort and later period someone came back in (k NULL when nobody did); runRetention
  // folds them into each cohort's list.
  const sql = `
    WITH ev AS (
      SELECT ${q.personKey()} AS person_id, ${q.bucket(period)} AS period, ${isStart} AS is_start, ${isReturn} AS is_return
      FROM events e ${q.identityJoin()}
      WHERE ${q.timeRange(request.from, request.to)} AND ${q.filters(request.filters, '/filters')}
        AND (${isStart} OR ${isReturn})
    ),
    cohorts AS (SELECT person_id, min(period) AS cohort FROM ev WHERE is_start GROUP BY person_id),
    returns AS (SELECT DISTINCT person_id, period FROM ev WHERE is_return),
    sizes AS (
      SELECT cohort, count(*) AS size, ${q.sql.periodsBetween(period, 'cohort', lastPeriod)} + 1 AS periods
      FROM cohorts GROUP BY cohort
    ),
    back AS (
      SELECT c.cohort AS cohort, ${q.sql.periodsBetween(period, 'c.cohort', 'r.period')} AS k, count(*) AS n
      FROM cohorts c JOIN returns r ON r.person_id = c.person_id AND r.period > c.cohort
      GROUP BY c.cohort, k
    )
    SELECT ${q.sql.formatLocal('s.cohort')} AS cohort, s.size, s.periods, b.k, b.n
    FROM sizes s LEFT JOIN back b ON b.cohort = s.cohort
    ORDER BY s.cohort, b.k`;
  return { sql, params: q.params };
}

export async function runRetention(store: Store, body: unknown): Promise<RetentionResult> {
  const request = validateRequest(RetentionRequestSchema, body);
  const { sql, params } = buildRetention(request, dialectOf(store));
  const result = await store.query(sql, { params, maxRows: 100_000 });
  const cohorts: RetentionCohort[] = [];
  let current: RetentionCohort | undefined;
  for (const [cohort, size, periods, k, n] of result.rows) {
    if (current === undefined || current.cohort !== String(cohort)) {
      current = { cohort: String(cohort), size: Number(size), values: [] };
      current.values = new Array<number>(Math.max(1, Number(periods))).fill(0);
      current.values[0] = current.size;
      cohorts.push(current);
    }
    if (k !== null && Number(k) < current.values.length) current.values[Number(k)] = Number(n);
  }
  return { period: request.period ?? 'week', timezone: request.timezone ?? 'UTC', cohorts };
}
