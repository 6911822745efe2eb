import { TracklaneError } from '@tracklane/core';
import type { QueryParam } from '@tracklane/storage';
import { parsePropertyRef } from './property-ref.ts';
import type { Filter } from './request-schema.ts';

export type Interval = 'minute' | 'hour' | 'day' | 'week' | 'month';

/** SQL for each interval unit: fixed text chosen from an enum, never request text. */
const INTERVALS: Record<Interval, { unit: string; step: string }> = {
  minute: { unit: "'minute'", step: 'INTERVAL 1 MINUTE' },
  hour: { unit: "'hour'", step: 'INTERVAL 1 HOUR' },
  day: { unit: "'day'", step: 'INTERVAL 1 DAY' },
  week: { unit: "'week'", step: 'INTERVAL 7 DAY' },
  month: { unit: "'month'", step: 'INTERVAL 1 MONTH' },
};

/** Non-track event types are addressed as `$page`, `$screen`, `$identify`, ... (PostHog's convention). */
const TYPE_EVENTS: Record<string, string> = {
  $page: 'page',
  $pageview: 'page',
  $screen: 'screen',
  $identify: 'identify',
  $group: 'group',
  $alias: 'alias',
};

/** The person an event belongs to: identified user, or the user its anonymous id was stitched to. Needs
 * `identities i` joined by `IDENTITY_JOIN`. */
export const PERSON_ID = 'coalesce(i.person_id, e.user_id, e.anonymous_id)';
/** The person as a 64-bit hash, for grouping and joining only (never shown): much cheaper than text, and a
 * collision among even millions of people is vanishingly unlikely (~n²/2⁶⁵). */
export const PERSON_KEY = `hash(${PERSON_ID})`;
export const IDENTITY_JOIN = 'LEFT JOIN identities i ON i.distinct_id = coalesce(e.user_id, e.anonymous_id)';

const DISTINCT_KEY = 'hash(coalesce(e.user_id, e.anonymous_id))';
/** `PERSON_KEY` by a join on 64-bit keys instead of text: each event's id is hashed once, and the join
 * probes integers. Same value as `PERSON_KEY` (hash of the person id when stitched, of the event's own id
 * otherwise); a false match needs a hash collision between two ids, as unlikely as one in `PERSON_KEY`.
 * Needs `HASHED_IDENTITY_JOIN`. */
export const HASHED_PERSON_KEY = `coalesce(i.person_key, ${DISTINCT_KEY})`;
export const HASHED_IDENTITY_JOIN = `LEFT JOIN (SELECT hash(distinct_id) AS distinct_key, hash(person_id) AS person_key FROM identities) i ON i.distinct_key = ${DISTINCT_KEY}`;

/**
 * The one place where analytics requests become SQL. Every value from a request is bound as a `$n`
 * parameter; property names are parsed by `parsePropertyRef` into a fixed column or a JSON path that is
 * itself bound. Query files compose the fragments this class returns; they never splice request text.
 */
export class QueryBuilder {
  readonly params: QueryParam[] = [];
  readonly #timezone: string;

  constructor(timezone = 'UTC') {
    this.#timezone = timezone;
  }

  /** Binds a value and returns its placeholder. */
  bind(value: QueryParam): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  /** An instant from the request as a UTC TIMESTAMP (storage keeps naive UTC). */
  instant(iso: string): string {
    return `CAST(${this.bind(new Date(Date.parse(iso)).toISOString().slice(0, -1))} AS TIMESTAMP)`;
  }

  /** `e.timestamp` in the request's time zone, as wall-clock time (DuckDB ICU). */
  localTime(expression = 'e.timestamp'): string {
    if (this.#timezone === 'UTC') return expression;
    return `timezone(${this.bind(this.#timezone)}, timezone('UTC', ${expression}))`;
  }

  bucket(interval: Interval, expression = 'e.timestamp'): string {
    return `date_trunc(${INTERVALS[interval].unit}, ${this.localTime(expression)})`;
  }

  step(interval: Interval): string {
    return INTERVALS[interval].step;
  }

  unit(interval: Interval): string {
    return INTERVALS[interval].unit;
  }

  /** `e.timestamp` within [from, to): a plain range on the raw column so DuckDB's zone maps prune. */
  timeRange(from: string, to: string): string {
    return `e.timestamp >= ${this.instant(from)} AND e.timestamp < ${this.instant(to)}`;
  }

  /** Matches one event name: a track event's name, or `$page`-style names for the other call types. */
  eventIs(name: string): string {
    const type = TYPE_EVENTS[name];
    return type === undefined ? `e.event = ${this.bind(name)}` : `e.type = ${this.bind(type)}`;
  }

  /** True when no event can match both names (two different track event names), so rows matching one
   * step never match the other. */
  disjointEvents(a: string, b: string): boolean {
    return a !== b && TYPE_EVENTS[a] === undefined && TYPE_EVENTS[b] === undefined;
  }

  /** Any of several event names (see `eventIs`) as IN lists, which scans evaluate cheaply. */
  eventIn(names: string[]): string {
    const tracks = [...new Set(names.filter((n) => TYPE_EVENTS[n] === undefined))];
    const types = [...new Set(names.map((n) => TYPE_EVENTS[n]).filter((t) => t !== undefined))];
    const parts: string[] = [];
    if (tracks.length > 0) parts.push(`e.event IN (${tracks.map((n) => this.bind(n)).join(', ')})`);
    if (types.length > 0) parts.push(`e.type IN (${types.map((t) => this.bind(t)).join(', ')})`);
    return `(${parts.join(' OR ')})`;
  }

  /** A property's value as text (NULL when missing). */
  property(ref: string, field: string): string {
    const parsed = parsePropertyRef(ref, field);
    if (parsed.kind === 'column') return parsed.sql;
    return `json_extract_string(e.${parsed.root}, ${this.bind(parsed.path)})`;
  }

  /** A property's value as DOUBLE (NULL when missing or not numeric). */
  numericProperty(ref: string, field: string): string {
    return `TRY_CAST(${this.property(ref, field)} AS DOUBLE)`;
  }

  filter(filter: Filter, field: string): string {
    const value = this.property(filter.property, `${field}/property`);
    const { operator } = filter;
    if (operator === 'is_set') return `(${value} IS NOT NULL)`;
    if (operator === 'is_not_set') return `(${value} IS NULL)`;
    const given = filter.value;
    if (given === undefined) {
      throw new TracklaneError('E_VALIDATION', `${field}/value is required for operator ${operator}`, {
        fields: [{ path: `${field}/value`, message: `is required for operator ${operator}` }],
      });
    }
    const list = Array.isArray(given) ? given : [given];
    switch (operator) {
      case 'eq':
      case 'in':
        return `(${list.map((v) => this.#equals(value, v)).join(' OR ') || 'false'})`;
      case 'neq':
      case 'not_in':
        // A missing property is "not equal" too, as a person reading the filter would expect.
        return `(${value} IS NULL OR NOT (${list.map((v) => this.#equals(value, v)).join(' OR ') || 'false'}))`;
      case 'contains':
        return `(${list.map((v) => `contains(lower(${value}), lower(${this.bind(String(v))}))`).join(' OR ')})`;
      case 'not_contains':
        return `(${value} IS NULL OR NOT (${list.map((v) => `contains(lower(${value}), lower(${this.bind(String(v))}))`).join(' OR ')}))`;
      default: {
        const comparison = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[operator];
        const number = Number(list[0]);
        if (list.length !== 1 || typeof list[0] === 'boolean' || !Number.isFinite(number)) {
          throw new TracklaneError(
            'E_VALIDATION',
            `${field}/value must be one number for operator ${operator}`,
            {
              fields: [{ path: `${field}/value`, message: `must be one number for operator ${operator}` }],
            },
          );
        }
        return `(TRY_CAST(${value} AS DOUBLE) ${comparison} ${this.bind(number)})`;
      }
    }
  }

  /** All filters ANDed; `true` when there are none. */
  filters(filters: Filter[] | undefined, field: string): string {
    if (filters === undefined || filters.length === 0) return 'true';
    return filters.map((f, i) => this.filter(f, `${field}/${i}`)).join(' AND ');
  }

  #equals(value: string, v: string | number | boolean): string {
    if (typeof v === 'number') return `TRY_CAST(${value} AS DOUBLE) = ${this.bind(v)}`;
    return `${value} = ${this.bind(String(v))}`;
  }
}

/** Local wall-clock timestamps leave DuckDB as `Date` read as UTC; format them as zone-less ISO text. */
export function localIso(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return String(value)
    .replace(/Z$/, '')
    .replace(/\.000$/, '');
}
