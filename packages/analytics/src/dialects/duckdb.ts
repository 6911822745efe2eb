import type { AsofJoin, Interval, SqlDialect } from './dialect.ts';

const STEPS: Record<Interval, string> = {
  minute: 'INTERVAL 1 MINUTE',
  hour: 'INTERVAL 1 HOUR',
  day: 'INTERVAL 1 DAY',
  week: 'INTERVAL 7 DAY',
  month: 'INTERVAL 1 MONTH',
};

/** DuckDB (the embedded store): the SQL the query builder was first written in, unchanged, so the
 * embedded store's plans (and the analytics benchmarks) stay what they were. */
export const duckdbDialect: SqlDialect = {
  name: 'duckdb',
  timestamp: (param) => `CAST(${param} AS TIMESTAMP)`,
  // ICU: timezone('UTC', naive) reads the naive value as UTC; timezone(zone, instant) gives wall-clock time.
  localTime: (expression, zone) => `timezone(${zone}, timezone('UTC', ${expression}))`,
  truncate: (interval, expression) => `date_trunc('${interval}', ${expression})`,
  series: (first, last, interval) =>
    `SELECT range AS bucket FROM range(${first}, ${last}, ${STEPS[interval]})`,
  periodsBetween: (period, from, to) => `datediff('${period}', ${from}, ${to})`,
  justBefore: (expression) => `(${expression} - INTERVAL 1 MICROSECOND)`,
  plusSeconds: (expression, seconds) => `${expression} + to_seconds(${seconds}::BIGINT)`,
  gapExceeds: (later, earlier, seconds) => `${later} - ${earlier} > to_seconds(${seconds}::BIGINT)`,
  epochMs: (expression) => `epoch_ms(${expression})`,
  formatLocal: (expression) => `strftime(${expression}, '%Y-%m-%dT%H:%M:%S')`,
  nullTimestamp: () => 'NULL::TIMESTAMP',
  jsonText: (column, keys, bind) =>
    `json_extract_string(${column}, ${bind(`$.${keys.map((k) => `"${k}"`).join('.')}`)})`,
  jsonTextFixed: (column, keys) => `json_extract_string(${column}, '$.${keys.join('.')}')`,
  toDouble: (expression) => `TRY_CAST(${expression} AS DOUBLE)`,
  containsIgnoringCase: (text, needle) => `contains(lower(${text}), lower(${needle}))`,
  regexpMatches: (text, pattern) => `regexp_matches(${text}, ${pattern})`,
  regexpGroup: (text, pattern) => `regexp_extract(${text}, ${pattern}, 1)`,
  countDistinct: (expression, exact) =>
    exact ? `count(DISTINCT ${expression})` : `approx_count_distinct(${expression})`,
  shift: (fn, expression, offset, window) => `${fn}(${expression}, ${offset}) OVER ${window}`,
  nullSafeEquals: (a, b) => `${a} IS NOT DISTINCT FROM ${b}`,
  notTrue: (expression) => `${expression} IS NOT TRUE`,
  textOrder: (expression) => expression,
  argMin: (arg, value) => `arg_min(${arg}, ${value})`,
  median: (expression, filter) => `median(${expression}) FILTER (WHERE ${filter})`,
  argMaxList: (values, key) => `arg_max([${values.join(', ')}], ${key})`,
  pickedItem: (list, index) => `${list}[${index}]`,
  sortedNonNull: (values) => `list_sort(list_filter([${values.join(', ')}], x -> x IS NOT NULL))`,
  listItem: (list, index) => `${list}[${index}]`,
  listLength: (list) => `len(${list})`,
  materialized: 'MATERIALIZED ',
  asofJoin: (join: AsofJoin) =>
    `${join.left ? 'ASOF LEFT JOIN' : 'ASOF JOIN'} ${join.table} ON ${join.table}.person_id = ${join.person} AND ${join.table}.ts ${join.op} ${join.bound}`,
};
