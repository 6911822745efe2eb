import { TracklaneError } from '@tracklane/core';
import type { QueryParam } from '@tracklane/storage';
import { duckdbDialect } from './dialects/duckdb.ts';
import type { Interval, SqlDialect } from './dialects/index.ts';
import { parsePropertyRef } from './property-ref.ts';
import type { Filter } from './request-schema.ts';

export type { Interval } from './dialects/index.ts';

/** Non-track event types are addressed as `$page`, `$screen`, `$identify`, ... (PostHog's convention). */
const TYPE_EVENTS: Record<string, string> = {
  $page: 'page',
  $pageview: 'page',
  $screen: 'screen',
  $identify: 'identify',
  $group: 'group',
  $alias: 'alias',
};

/**
 * The person an event belongs to, as a 64-bit key: the key of the person its id is stitched to, else of its
 * own id. Every store writes these keys with each event and link (`distinct_key` on events, `distinct_key`/
 * `person_key` on identities: the first 63 bits of the id's MD5, the same value on DuckDB, PostgreSQL and
 * ClickHouse), so queries group and join people on integers and never hash text. Never shown; two people
 * share a key with probability ~n²/2⁶⁴. Needs `IDENTITY_JOIN`.
 */
const PERSON_KEY = 'coalesce(i.person_key, e.distinct_key)';
const IDENTITY_JOIN = 'LEFT JOIN identities i ON i.distinct_key = e.distinct_key';

/**
 * The one place where analytics requests become SQL. Every value from a request is bound as a `$n`
 * parameter; property names are parsed by `parsePropertyRef` into a fixed column or a JSON path that is
 * itself bound. Query files compose the fragments this class returns; they never splice request text.
 */
export class QueryBuilder {
  readonly params: QueryParam[] = [];
  /** The engine's SQL; query files call it for what their query needs beyond these fragments. */
  readonly sql: SqlDialect;
  readonly #timezone: string;
  constructor(timezone = 'UTC', dialect: SqlDialect = duckdbDialect) {
    this.#timezone = timezone;
    this.sql = dialect;
  }

  /** The person an event belongs to (see PERSON_KEY). Needs `identityJoin()`. */
  personKey(): string {
    return PERSON_KEY;
  }

  identityJoin(): string {
    return IDENTITY_JOIN;
  }

  /** Binds a value and returns its placeholder. */
  bind(value: QueryParam): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  /** An instant from the request as a UTC timestamp (storage keeps zone-less UTC). */
  instant(iso: string): string {
    return this.sql.timestamp(this.bind(new Date(Date.parse(iso)).toISOString().slice(0, -1)));
  }

  /** `e.timestamp` in the request's time zone, as wall-clock time. */
  localTime(expression = 'e.timestamp'): string {
    if (this.#timezone === 'UTC') return expression;
    return this.sql.localTime(expression, this.bind(this.#timezone));
  }

  bucket(interval: Interval, expression = 'e.timestamp'): string {
    return this.sql.truncate(interval, this.localTime(expression));
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
    return this.sql.jsonText(`e.${parsed.root}`, parsed.keys, (value) => this.bind(value));
  }

  /** A property's value as a double (NULL when missing or not numeric). */
  numericProperty(ref: string, field: string): string {
    return this.sql.toDouble(this.property(ref, field));
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
        return `(${list.map((v) => this.sql.containsIgnoringCase(value, this.bind(String(v)))).join(' OR ')})`;
      case 'not_contains':
        return `(${value} IS NULL OR NOT (${list.map((v) => this.sql.containsIgnoringCase(value, this.bind(String(v)))).join(' OR ')}))`;
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
        return `(${this.sql.toDouble(value)} ${comparison} ${this.bind(number)})`;
      }
    }
  }

  /** All filters ANDed; `true` when there are none. */
  filters(filters: Filter[] | undefined, field: string): string {
    if (filters === undefined || filters.length === 0) return 'true';
    return filters.map((f, i) => this.filter(f, `${field}/${i}`)).join(' AND ');
  }

  #equals(value: string, v: string | number | boolean): string {
    if (typeof v === 'number') return `${this.sql.toDouble(value)} = ${this.bind(v)}`;
    return `${value} = ${this.bind(String(v))}`;
  }
}
