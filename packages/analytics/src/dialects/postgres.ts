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
  // No ASOF join. A LATERAL subquery reading `table` itself would rescan all of it for every left row
  // (quadratic in events), so each person's rows are gathered into arrays once, hash-joined by person, and
  // the closest row is looked up in that person's arrays only.
  asofJoin: (join: AsofJoin) => {
    const t = join.table;
    const all = `${t}_all`;
    const columns = ['ts', ...join.carry];
    const kind = join.left ? 'LEFT JOIN' : 'JOIN';
    return `${kind} (SELECT person_id, ${columns.map((c) => `array_agg(${c} ORDER BY ts) AS ${c}_list`).join(', ')}
        FROM ${t} GROUP BY person_id) ${all} ON ${all}.person_id = ${join.person}
      ${kind} LATERAL (SELECT ${all}.person_id AS person_id, ${columns.map((c) => `u.${c} AS ${c}`).join(', ')}
        FROM unnest(${columns.map((c) => `${all}.${c}_list`).join(', ')}) AS u(${columns.join(', ')})
        WHERE u.ts ${join.op} ${join.bound} ORDER BY u.ts ${join.op.startsWith('>') ? 'ASC' : 'DESC'} LIMIT 1) ${t} ON true`;
  },
};
