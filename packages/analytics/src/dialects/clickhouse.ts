import type { AsofJoin, Interval, SqlDialect } from './dialect.ts';

const TS = "DateTime64(3, 'UTC')";

const ADD: Record<Interval, string> = {
  minute: 'addMinutes',
  hour: 'addHours',
  day: 'addDays',
  week: 'addWeeks',
  month: 'addMonths',
};

/** Whole units from a to b, at least as many as the buckets between them (the series filters the rest). */
const DIFF_UNIT: Record<Interval, string> = {
  minute: 'minute',
  hour: 'hour',
  day: 'day',
  week: 'day',
  month: 'month',
};

const TRUNCATE: Record<Interval, (x: string) => string> = {
  minute: (x) => `toStartOfMinute(${x})`,
  hour: (x) => `toStartOfHour(${x})`,
  day: (x) => `toStartOfDay(${x})`,
  week: (x) => `toMonday(${x})`,
  month: (x) => `toStartOfMonth(${x})`,
};

/**
 * ClickHouse 23.3+ (@tracklane/storage-clickhouse; tested on chDB 26.7). Timestamps are
 * `DateTime64(3, 'UTC')`; wall-clock times are kept in the same type, labelled UTC, so truncating,
 * stepping and formatting them is plain calendar arithmetic as in DuckDB. The store runs queries with
 * `join_use_nulls` and `group_by_use_nulls`, so outer-join misses and rolled-up columns are NULL.
 */
export const clickhouseDialect: SqlDialect = {
  name: 'clickhouse',
  timestamp: (param) => `toDateTime64(${param}, 3, 'UTC')`,
  // The instant moved by the zone's offset at that instant: its wall-clock reading, labelled UTC.
  localTime: (expression, zone) =>
    `addSeconds(${expression}, timeZoneOffset(toTimeZone(${expression}, ${zone})))`,
  // toStartOfMonth and toMonday give a Date; every bucket is the same DateTime64 type so they compare.
  truncate: (interval, expression) => `toDateTime64(${TRUNCATE[interval](expression)}, 3, 'UTC')`,
  series: (first, last, interval) =>
    `SELECT bucket FROM (SELECT ${ADD[interval]}(${first}, k) AS bucket
       FROM (SELECT arrayJoin(range(toUInt64(greatest(dateDiff('${DIFF_UNIT[interval]}', ${first}, ${last}), 0) + 1))) AS k))
     WHERE bucket < ${last}`,
  periodsBetween: (period, from, to) =>
    period === 'week'
      ? `intDiv(dateDiff('day', ${from}, ${to}), 7)`
      : `dateDiff('${period}', ${from}, ${to})`,
  // Millisecond precision: the instants stored and asked for have no finer part.
  justBefore: (expression) => `subtractMilliseconds(${expression}, 1)`,
  plusSeconds: (expression, seconds) => `addSeconds(${expression}, ${seconds})`,
  gapExceeds: (later, earlier, seconds) => `${later} > addSeconds(${earlier}, ${seconds})`,
  epochMs: (expression) => `toUnixTimestamp64Milli(${expression})`,
  formatLocal: (expression) => `formatDateTime(${expression}, '%Y-%m-%dT%H:%i:%S')`,
  nullTimestamp: () => `CAST(NULL AS Nullable(${TS}))`,
  // JSON_VALUE cannot tell a missing key, JSON null and "" apart; JSONType can, key by key.
  jsonText: (column, keys, bind) => jsonText(column, keys.map((k) => bind(k)).join(', ')),
  jsonTextFixed: (column, keys) => jsonText(column, keys.map((k) => `'${k}'`).join(', ')),
  toDouble: (expression) => `toFloat64OrNull(${expression})`,
  containsIgnoringCase: (text, needle) => `(positionCaseInsensitiveUTF8(${text}, ${needle}) > 0)`,
  regexpMatches: (text, pattern) => `match(${text}, ${pattern})`,
  regexpGroup: (text, pattern) => `regexpExtract(${text}, ${pattern}, 1)`,
  countDistinct: (expression, exact) => (exact ? `uniqExact(${expression})` : `uniq(${expression})`),
  // Without toNullable, lag/lead past the edge give the type's default (0, '', 1970), not NULL.
  shift: (fn, expression, offset, window) => `${fn}(toNullable(${expression}), ${offset}) OVER ${window}`,
  nullSafeEquals: (a, b) => `isNotDistinctFrom(${a}, ${b})`,
  notTrue: (expression) => `(${expression} IS NULL OR NOT ${expression})`,
  textOrder: (expression) => expression,
  // argMin skips rows whose arg is NULL, as DuckDB's arg_min does.
  argMin: (arg, value) => `argMin(${arg}, ${value})`,
  // R7 interpolation, as DuckDB's median and PostgreSQL's percentile_cont (ClickHouse's median samples).
  median: (expression, filter) => `quantileExactInclusiveIf(0.5)(${expression}, ${filter})`,
  argMaxList: (values, key) => `argMax([${values.join(', ')}], ${key})`,
  pickedItem: (list, index) => `${list}[${index}]`,
  sortedNonNull: (values) => `arraySort(arrayFilter(x -> x IS NOT NULL, [${values.join(', ')}]))`,
  listItem: (list, index) => `${list}[${index}]`,
  listLength: (list) => `length(${list})`,
  materialized: '',
  asofJoin: (join: AsofJoin) =>
    `${join.left ? 'ASOF LEFT JOIN' : 'ASOF JOIN'} ${join.table} ON ${join.table}.person_id = ${join.person} AND ${join.table}.ts ${join.op} ${join.bound}`,
};

function jsonText(column: string, keys: string): string {
  const type = `JSONType(${column}, ${keys})`;
  return `multiIf(${type} = 'String', JSONExtractString(${column}, ${keys}), ${type} = 'Null', NULL, JSONExtractRaw(${column}, ${keys}))`;
}
