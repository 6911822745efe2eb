import type { AsofJoin, Interval, SqlDialect } from './dialect.ts';

const STEPS: Record<Interval, string> = {
  minute: "interval '1 minute'",
  hour: "interval '1 hour'",
  day: "interval '1 day'",
  week: "interval '7 days'",
  month: "interval '1 month'",
};

/** A JSON number as PostgreSQL's double precision input reads it (no NaN/Infinity words). */
const NUMBER = `'^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$'`;

/**
 * PostgreSQL 15 (@tracklane/storage-postgres): `timestamp` columns hold UTC, JSON bags are jsonb. Where
 * DuckDB has a function PostgreSQL lacks (arg_min, median, ASOF joins, TRY_CAST), the standard equivalent.
 */
export const postgresDialect: SqlDialect = {
  name: 'postgres',
  timestamp: (param) => `CAST(${param} AS timestamp)`,
  // timestamp AT TIME ZONE 'UTC' is the instant; instant AT TIME ZONE zone is the zone's wall-clock time.
  localTime: (expression, zone) => `((${expression}) AT TIME ZONE 'UTC' AT TIME ZONE ${zone})`,
  // ISO weeks: date_trunc('week') is Monday, as in DuckDB.
  truncate: (interval, expression) => `date_trunc('${interval}', ${expression})`,
  // generate_series includes its end; the buckets must stop before `last`.
  series: (first, last, interval) =>
    `SELECT bucket FROM generate_series(${first}, ${last}, ${STEPS[interval]}) AS bucket WHERE bucket < ${last}`,
  periodsBetween: (period, from, to) => {
    if (period === 'month') {
      return `((extract(year FROM ${to}) - extract(year FROM ${from})) * 12 + extract(month FROM ${to}) - extract(month FROM ${from}))::bigint`;
    }
    const days = `(CAST(${to} AS date) - CAST(${from} AS date))`;
    return period === 'day' ? days : `(${days} / 7)`;
  },
  justBefore: (expression) => `(${expression} - interval '1 microsecond')`,
  plusSeconds: (expression, seconds) => `${expression} + make_interval(secs => ${seconds})`,
  gapExceeds: (later, earlier, seconds) => `${later} - ${earlier} > make_interval(secs => ${seconds})`,
  epochMs: (expression) => `(extract(epoch FROM ${expression}) * 1000)`,
  formatLocal: (expression) => `to_char(${expression}, 'YYYY-MM-DD"T"HH24:MI:SS')`,
  nullTimestamp: () => 'NULL::timestamp',
  // #>> takes the path as text[]; keys are letters, digits, _, $, - (property-ref.ts), and bound anyway.
  jsonText: (column, keys, bind) =>
    `(${column} #>> ${bind(`{${keys.map((k) => `"${k}"`).join(',')}}`)}::text[])`,
  jsonTextFixed: (column, keys) => `(${column} #>> '{${keys.join(',')}}')`,
  toDouble: (expression) =>
    `(CASE WHEN ${expression} ~ ${NUMBER} THEN CAST(${expression} AS double precision) END)`,
  containsIgnoringCase: (text, needle) => `(strpos(lower(${text}), lower(${needle})) > 0)`,
  regexpMatches: (text, pattern) => `(${text} ~ ${pattern})`,
  regexpGroup: (text, pattern) => `substring(${text} FROM ${pattern})`,
  hash64: (expression) => `hashtextextended(${expression}, 0)`,
  // PostgreSQL has no distinct-count estimate built in.
  countDistinct: (expression) => `count(DISTINCT ${expression})`,
  shift: (fn, expression, offset, window) => `${fn}(${expression}, ${offset}) OVER ${window}`,
  nullSafeEquals: (a, b) => `${a} IS NOT DISTINCT FROM ${b}`,
  notTrue: (expression) => `${expression} IS NOT TRUE`,
  // The database's collation may be a language's (en_US sorts '$end' after 'Signed Up'); DuckDB's is bytes.
  textOrder: (expression) => `(${expression}) COLLATE "C"`,
  argMin: (arg, value) => `(array_agg(${arg} ORDER BY ${value}) FILTER (WHERE ${arg} IS NOT NULL))[1]`,
  median: (expression, filter) =>
    `percentile_cont(0.5) WITHIN GROUP (ORDER BY ${expression}) FILTER (WHERE ${filter})`,
  // array_agg of arrays is two-dimensional: the first row of it is the picked list.
  argMaxList: (values, key) =>
    `(array_agg(ARRAY[${values.join(', ')}] ORDER BY ${key} DESC NULLS LAST))[1:1]`,
  pickedItem: (list, index) => `${list}[1][${index}]`,
  sortedNonNull: (values) =>
    `ARRAY(SELECT x FROM unnest(ARRAY[${values.join(', ')}]) AS u(x) WHERE x IS NOT NULL ORDER BY x)`,
  listItem: (list, index) => `${list}[${index}]`,
  listLength: (list) => `cardinality(${list})`,
  materialized: 'MATERIALIZED ',
  // No ASOF join: the closest row through a LATERAL subquery, which reads the same as DuckDB's ASOF.
  asofJoin: (join: AsofJoin) =>
    `${join.left ? 'LEFT JOIN' : 'JOIN'} LATERAL (SELECT * FROM ${join.table} WHERE ${join.table}.person_id = ${join.person} AND ${join.table}.ts ${join.op} ${join.bound} ORDER BY ${join.table}.ts ${join.op.startsWith('>') ? 'ASC' : 'DESC'} LIMIT 1) ${join.table} ON true`,
};
