import type { QueryParam, SqlDialectName } from '@tracklane/storage';

export type Interval = 'minute' | 'hour' | 'day' | 'week' | 'month';

/** An ASOF join: for each left row, the one row of `table` of the same person whose `ts` is the closest
 * one satisfying `ts <op> bound` (earliest for > and >=, latest for < and <=). */
export interface AsofJoin {
  /** Keep left rows without a match (their `table` columns NULL). */
  left: boolean;
  /** A CTE with columns `person_id` and `ts`; also the alias the join exposes. */
  table: string;
  /** The left side's person key expression. */
  person: string;
  op: '>' | '>=' | '<' | '<=';
  /** The left side's expression `ts` is compared with. */
  bound: string;
  /** Columns of `table` besides `person_id` and `ts` that the query reads from the match. */
  carry: readonly string[];
}

/**
 * What differs between the SQL engines the analytics queries run on. The query files write one query
 * each, composed of these fragments; nothing here knows about trends or funnels. Every method returns SQL
 * text built only from its arguments (SQL fragments the builder made, or placeholders) and fixed text, so
 * request values still reach the engine only as bound parameters.
 *
 * Conventions every dialect keeps, so the queries mean the same everywhere:
 * - events' `timestamp` holds UTC; "local" times are zone-less wall-clock values of the same type;
 * - text compares and sorts by code point (DuckDB's and ClickHouse's order, PostgreSQL's "C" collation);
 * - lag/lead past a partition's edge, and outer-join misses, are NULL.
 */
export interface SqlDialect {
  readonly name: SqlDialectName;
  /** A bound zone-less UTC instant (`YYYY-MM-DDTHH:MM:SS.mmm`) as the events' timestamp type. */
  timestamp(param: string): string;
  /** A UTC timestamp as wall-clock time in the zone a bound IANA name gives. */
  localTime(expression: string, zoneParam: string): string;
  /** Start of the interval (weeks start on Monday) containing a timestamp. */
  truncate(interval: Interval, expression: string): string;
  /** A SELECT of one column `bucket`: `first`, then every `interval` after it, while before `last`. */
  series(first: string, last: string, interval: Interval): string;
  /** Whole periods from one period start to a later one. */
  periodsBetween(period: 'day' | 'week' | 'month', from: string, to: string): string;
  /** The latest representable instant before a timestamp (so an exclusive end falls in the right period). */
  justBefore(expression: string): string;
  /** A timestamp plus a number of seconds (an integer SQL expression, e.g. a placeholder). */
  plusSeconds(expression: string, seconds: string): string;
  /** True when `later` is more than `seconds` after `earlier`. */
  gapExceeds(later: string, earlier: string, seconds: string): string;
  /** Milliseconds since the epoch, as a number. */
  epochMs(expression: string): string;
  /** A wall-clock timestamp as `YYYY-MM-DDTHH:MM:SS` text. */
  formatLocal(expression: string): string;
  /** NULL typed as a timestamp, for UNION branches that have no time. */
  nullTimestamp(): string;
  /** The text at a JSON path given by request keys (each bound through `bind`); NULL when absent or JSON
   * null; numbers and booleans as their JSON text. */
  jsonText(column: string, keys: readonly string[], bind: (value: QueryParam) => string): string;
  /** The same for a fixed path from code (keys of letters, digits and `_`), written as a literal. */
  jsonTextFixed(column: string, keys: readonly string[]): string;
  /** Text as a double; NULL when it is not a number (never an error). */
  toDouble(expression: string): string;
  /** Case-insensitive substring test. */
  containsIgnoringCase(text: string, needle: string): string;
  /** Regular-expression test; `pattern` is a SQL string literal from code. */
  regexpMatches(text: string, pattern: string): string;
  /** The first capture group of `pattern` (a literal from code): '' or NULL when it does not match. */
  regexpGroup(text: string, pattern: string): string;
  /** Distinct non-NULL values: exact, or a cheaper estimate where the engine has one. */
  countDistinct(expression: string, exact: boolean): string;
  /** lag/lead over a named window, NULL past the partition's edge. */
  shift(fn: 'lag' | 'lead', expression: string, offset: number, window: string): string;
  /** Equality where NULL equals NULL (used in JOIN ... ON). */
  nullSafeEquals(a: string, b: string): string;
  /** `expression IS NOT TRUE` (false or NULL). */
  notTrue(expression: string): string;
  /** A text expression as written in ORDER BY, sorting by code point. */
  textOrder(expression: string): string;
  /** Aggregate: `arg` of the row with the smallest `value`, skipping rows where `arg` is NULL. */
  argMin(arg: string, value: string): string;
  /** Aggregate: the interpolated median of the rows matching `filter`. */
  median(expression: string, filter: string): string;
  /** Aggregate: the list `values` of the row with the largest `key`; read it with `pickedItem`. */
  argMaxList(values: readonly string[], key: string): string;
  /** Item `index` (1-based) of an `argMaxList` result. */
  pickedItem(list: string, index: number): string;
  /** The non-NULL `values` as a list, ascending. */
  sortedNonNull(values: readonly string[]): string;
  /** Item `index` (1-based) of a list, NULL past its end. */
  listItem(list: string, index: number): string;
  listLength(list: string): string;
  /** `MATERIALIZED ` where the engine would otherwise inline a CTE read several times, else ''. */
  readonly materialized: string;
  asofJoin(join: AsofJoin): string;
}
