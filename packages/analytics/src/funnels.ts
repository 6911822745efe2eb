import { type Static, Type } from '@sinclair/typebox';
import type { Store } from '@tracklane/storage';
import { dialectOf, duckdbDialect, type SqlDialect } from './dialects/index.ts';
import { QueryBuilder } from './query-builder.ts';
import { EventName, Filters, PropertyName, TimeRange, validateRequest } from './request-schema.ts';

const StepSchema = Type.Object(
  { event: EventName, filters: Type.Optional(Filters) },
  { additionalProperties: false },
);

export const FunnelRequestSchema = Type.Object(
  {
    steps: Type.Array(StepSchema, { minItems: 2, maxItems: 10 }),
    ...TimeRange,
    /** Seconds from the first step within which every later step must happen. Default 14 days. */
    conversionWindowSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 366 * 86_400 })),
    /**
     * ordered: steps in order, other events may happen between; strict: each step is the person's very
     * next event; any: all steps within the window, in any order.
     */
    order: Type.Optional(Type.Union([Type.Literal('ordered'), Type.Literal('strict'), Type.Literal('any')])),
    /** Property of the first step's event (ordered, strict) or of the anchoring event (any). */
    breakdown: Type.Optional(PropertyName),
    breakdownLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    filters: Type.Optional(Filters),
  },
  { additionalProperties: false },
);
export type FunnelRequest = Static<typeof FunnelRequestSchema>;

export interface FunnelStep {
  event: string;
  /** People who reached this step. */
  count: number;
  /** count / people at step 1. */
  conversionRate: number;
  /** count / people at the previous step. */
  stepConversionRate: number;
  /** Median seconds from the previous step, among people who reached this step; null for step 1. */
  medianSecondsFromPrevious: number | null;
}

export interface FunnelResult {
  order: NonNullable<FunnelRequest['order']>;
  breakdowns: { breakdown: string | null; steps: FunnelStep[] }[];
}

const DEFAULT_WINDOW_SECONDS = 14 * 86_400;

/**
 * Each start (a step-1 event, or any step event for `any`) is followed greedily: the earliest next step
 * after the previous one (ASOF joins, one per step). Greedy-earliest is optimal for a fixed start, so a
 * person's best start is the one reaching furthest (the latest among equals: the tightest timing).
 */
export function buildFunnel(
  request: FunnelRequest,
  dialect: SqlDialect = duckdbDialect,
): { sql: string; params: QueryBuilder['params'] } {
  const q = new QueryBuilder(request.timezone, dialect);
  const d = q.sql;
  const order = request.order ?? 'ordered';
  const n = request.steps.length;
  const window = q.bind(request.conversionWindowSeconds ?? DEFAULT_WINDOW_SECONDS);
  const matches = request.steps.map(
    (step, k) => `(${q.eventIs(step.event)} AND ${q.filters(step.filters, `/steps/${k}/filters`)})`,
  );
  const breakdown = request.breakdown === undefined ? 'NULL' : q.property(request.breakdown, '/breakdown');
  const range = q.timeRange(request.from, request.to);
  // A plain IN list the scan can evaluate cheaply before the per-step expressions.
  const coarse = () => q.eventIn(request.steps.map((step) => step.event));
  // Without per-step filters the IN list already is the exact condition.
  const anyStep = request.steps.some((step) => (step.filters?.length ?? 0) > 0)
    ? `(${matches.join(' OR ')})`
    : 'true';
  const global = q.filters(request.filters, '/filters');
  const flags = matches.map((m, k) => `${m} AS m${k}`).join(', ');
  const limit = q.bind(request.breakdownLimit ?? 25);
  const deadline = (t: string, start = 't0') => `${t} <= ${d.plusSeconds(start, window)}`;
  const personKey = q.personKey();
  const identityJoin = q.identityJoin();

  let starts: string;
  if (order === 'strict') {
    // Every event of the person counts here, so "the very next event" is literal.
    const leads = request.steps
      .slice(1)
      .map(
        (_, j) =>
          `CASE WHEN ${d.shift('lead', `m${j + 1}`, j + 1, 'w')} THEN ${d.shift('lead', 'ts', j + 1, 'w')} END AS t${j + 1}`,
      )
      .join(', ');
    starts = `
      ev AS (
        SELECT ${personKey} AS person_id, e.timestamp AS ts, e.message_id, ${breakdown} AS breakdown, ${flags}
        FROM events e ${identityJoin} WHERE ${range} AND ${global}
      ),
      chain AS (
        SELECT * FROM (
          SELECT person_id, breakdown, m0, ts AS t0, ${leads}
          FROM ev WINDOW w AS (PARTITION BY person_id ORDER BY ts, message_id)
        ) AS followed WHERE m0
      ),
      reached AS (
        SELECT person_id, breakdown, t0, ${times(n)}, ${reachedCase(n, deadline)} AS reached FROM chain
      )`;
  } else {
    const stepTables = matches
      .map((_, k) => `s${k} AS (SELECT person_id, ts, breakdown FROM ev WHERE m${k})`)
      .join(',\n');
    if (order === 'ordered') {
      const sameAsPrevious = (k: number) => request.steps[k]!.event === request.steps[k - 1]!.event;
      // The same event twice in a row must be two distinct occurrences, hence strictly after.
      const after = (k: number) => (sameAsPrevious(k) ? '>' : '>=');
      const later = request.steps
        .slice(2)
        .map((_, j) => {
          const k = j + 2;
          return d.asofJoin({
            left: true,
            table: `s${k}`,
            person: 'c.person_id',
            op: after(k),
            bound: k === 2 ? 'c.t1' : `s${k - 1}.ts`,
            carry: [],
          });
        })
        .join('\n');
      const laterTimes = request.steps
        .slice(2)
        .map((_, j) => `, s${j + 2}.ts AS t${j + 2}`)
        .join('');
      const none = Array.from({ length: n - 1 }, (_, j) => `${d.nullTimestamp()} AS t${j + 1}`).join(', ');
      // Everyone with a first step reached step 1, whether or not one of their starts is a candidate.
      const everyStart = `
        UNION ALL
        SELECT person_id, breakdown, max(ts) AS t0, ${none}, 1 AS reached FROM s0 GROUP BY person_id, breakdown`;
      let candidates: string;
      let reachedAll = everyStart;
      if (q.disjointEvents(request.steps[0]!.event, request.steps[1]!.event)) {
        // No event is both a step 1 and a step 2, so in each person's step-1/step-2 events ordered by time
        // (step 1 first on ties: >=), a step-1 event followed by a step-2 event is the last one before it, and
        // that step-2 event is its first step 2. One sort instead of an ASOF join against every step-1 event.
        // A person's last step-1 event, when nothing follows it, is kept too (t1 NULL): then every person with
        // a step 1 has a row here, and only a breakdown (per person and value) still needs every start.
        // One lead() instead of two (3-8% of the funnel's CPU time on the 10M bench): the next event's time
        // if it is a step 2, else a time before the range (`before`), which no event in ev can have; NULL
        // after the last.
        const before = q.instant(new Date(Date.parse(request.from) - 1000).toISOString());
        candidates = `
      candidates AS (
        SELECT person_id, ts, breakdown, CASE WHEN next_t > ${before} THEN next_t END AS t1 FROM (
          SELECT person_id, ts, breakdown, m0, ${d.shift('lead', `CASE WHEN m1 THEN ts ELSE ${before} END`, 1, 'w')} AS next_t
          FROM ev WHERE m0 OR m1
          WINDOW w AS (PARTITION BY person_id ORDER BY ts, m0 DESC)
        ) AS marked WHERE m0 AND (next_t IS NULL OR next_t > ${before})
      )`;
        if (request.breakdown === undefined) reachedAll = '';
      } else {
        candidates = `
      -- Only the last step-1 event before some step-2 event can be a best start: an earlier one leads to the
      -- same chain with less of the window left. At most one start per step-2 event remains.
      candidates AS (
        SELECT c.person_id AS person_id, c.ts AS ts, c.breakdown AS breakdown, s1.ts AS t1
        FROM (
          SELECT DISTINCT s0.person_id AS person_id, s0.ts AS ts, s0.breakdown AS breakdown
          FROM s1 ${d.asofJoin({ left: false, table: 's0', person: 's1.person_id', op: sameAsPrevious(1) ? '<' : '<=', bound: 's1.ts', carry: ['breakdown'] })}
        ) c ${d.asofJoin({ left: true, table: 's1', person: 'c.person_id', op: after(1), bound: 'c.ts', carry: [] })}
      )`;
      }
      starts = `
      ev AS ${d.materialized}(
        SELECT ${personKey} AS person_id, e.timestamp AS ts, ${breakdown} AS breakdown, ${flags}
        FROM events e ${identityJoin}
        -- Every reader of ev keeps only rows matching some step, and DuckDB pushes those conditions into this
        -- scan; an IN list here as well would compare each event name twice.
        WHERE ${range} AND ${global}
      ),
      ${stepTables},${candidates},
      -- A start whose step 2 is missing or too late reaches step 1 whatever follows: no need to look further.
      chain AS (
        SELECT c.person_id AS person_id, c.breakdown AS breakdown, c.ts AS t0, c.t1 AS t1${laterTimes}
        FROM (SELECT * FROM candidates WHERE ${deadline('t1', 'ts')}) c ${later}
        UNION ALL
        SELECT person_id, breakdown, ts, t1${request.steps
          .slice(2)
          .map(() => ', NULL')
          .join('')}
        FROM candidates WHERE t1 IS NULL OR NOT (${deadline('t1', 'ts')})
      ),
      reached AS (
        SELECT person_id, breakdown, t0, ${times(n)}, ${reachedCase(n, deadline)} AS reached FROM chain${reachedAll}
      )`;
    } else {
      // Any order: from every step event as an anchor, the first occurrence of each step at or after it.
      const joins = matches
        .map((_, k) =>
          d.asofJoin({
            left: true,
            table: `s${k}`,
            person: 'a.person_id',
            op: '>=',
            bound: 'a.ts',
            carry: [],
          }),
        )
        .join('\n');
      const hit = matches.map(
        (_, k) => `CASE WHEN s${k}.ts <= ${d.plusSeconds('a.ts', window)} THEN s${k}.ts END`,
      );
      starts = `
      ev AS (
        SELECT ${personKey} AS person_id, e.timestamp AS ts, ${breakdown} AS breakdown, ${flags}
        FROM events e ${identityJoin} WHERE ${range} AND ${coarse()} AND ${global} AND ${anyStep}
      ),
      ${stepTables},
      anchors AS (SELECT * FROM ev),
      chain AS (
        SELECT a.person_id AS person_id, a.breakdown AS breakdown, ${d.sortedNonNull(hit)} AS hits
        FROM anchors a ${joins}
      ),
      reached AS (
        SELECT person_id, breakdown, ${d.listItem('hits', 1)} AS t0,
               ${Array.from({ length: n - 1 }, (_, j) => `${d.listItem('hits', j + 2)} AS t${j + 1}`).join(', ')},
               ${d.listLength('hits')} AS reached
        FROM chain
      )`;
    }
  }
  const counts = Array.from({ length: n }, (_, k) => `count(*) FILTER (WHERE reach >= ${k + 1}) AS c${k}`);
  const medians = Array.from(
    { length: n - 1 },
    (_, j) =>
      `${d.median(`(${d.epochMs(d.pickedItem('best', j + 2))} - ${d.epochMs(d.pickedItem('best', j + 1))}) / 1000.0`, `reach >= ${j + 2}`)} AS d${j + 1}`,
  );
  const sql = `
    WITH ${starts},
    best AS (
      SELECT person_id, breakdown,
             ${d.argMaxList(times0(n), `reached * 10000000000000 + ${d.epochMs('t0')}`)} AS best, max(reached) AS reach
      FROM reached GROUP BY person_id, breakdown
    )
    SELECT breakdown, ${counts.join(', ')}, ${medians.join(', ')}
    FROM best GROUP BY breakdown ORDER BY c0 DESC, ${d.textOrder('breakdown')} NULLS LAST LIMIT ${limit}`;
  return { sql, params: q.params };
}

/** t0 .. t(n-1). */
function times0(n: number): string[] {
  return Array.from({ length: n }, (_, k) => `t${k}`);
}

function times(n: number): string {
  return Array.from({ length: n - 1 }, (_, j) => `t${j + 1}`).join(', ');
}

/** How far a start got: step k counts only if every step before it did and it is within the window. */
function reachedCase(n: number, deadline: (t: string) => string): string {
  const whens = Array.from(
    { length: n - 1 },
    (_, j) => `WHEN t${j + 1} IS NULL OR NOT (${deadline(`t${j + 1}`)}) THEN ${j + 1}`,
  );
  return `CASE ${whens.join(' ')} ELSE ${n} END`;
}

export async function runFunnel(store: Store, body: unknown): Promise<FunnelResult> {
  const request = validateRequest(FunnelRequestSchema, body);
  const { sql, params } = buildFunnel(request, dialectOf(store));
  const result = await store.query(sql, { params, maxRows: 1_000 });
  const n = request.steps.length;
  // Nobody started: still one funnel of zeros, so clients need no special case.
  const rows = result.rows.length === 0 && request.breakdown === undefined ? [[null]] : result.rows;
  return {
    order: request.order ?? 'ordered',
    breakdowns: rows.map((row) => {
      const counts = Array.from({ length: n }, (_, k) => Number(row[k + 1] ?? 0));
      const medians = Array.from({ length: n - 1 }, (_, j) => row[n + 1 + j] ?? null).map((m) =>
        m === null ? null : Number(m),
      );
      return {
        breakdown: row[0] === null ? null : String(row[0]),
        steps: request.steps.map((step, k) => ({
          event: step.event,
          count: counts[k]!,
          conversionRate: ratio(counts[k]!, counts[0]!),
          stepConversionRate: k === 0 ? 1 : ratio(counts[k]!, counts[k - 1]!),
          medianSecondsFromPrevious: k === 0 ? null : (medians[k - 1] ?? null),
        })),
      };
    }),
  };
}

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 10_000) / 10_000;
}
