import pg from 'pg';

/**
 * Query results in the same JSON shapes DuckDB's store returns, so API responses and tests do not depend on
 * the engine: integers as numbers (strings past 2^53), JSON as JSON text, timestamps as UTC ISO strings.
 */

const { types } = pg;

const OID = {
  int8: 20,
  numeric: 1700,
  json: 114,
  jsonb: 3802,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
} as const;

function integer(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

function numeric(text: string): number | string {
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}

/** Zone-less timestamps hold UTC (see migrations.ts). */
function timestamp(text: string): string {
  const ms = Date.parse(`${text.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? text : new Date(ms).toISOString();
}

function timestamptz(text: string): string {
  const ms = Date.parse(text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
  return Number.isNaN(ms) ? text : new Date(ms).toISOString();
}

function date(text: string): string {
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isNaN(ms) ? text : new Date(ms).toISOString();
}

const PARSERS = new Map<number, (text: string) => unknown>([
  [OID.int8, integer],
  [OID.numeric, numeric],
  [OID.json, (text) => text],
  [OID.jsonb, (text) => text],
  [OID.timestamp, timestamp],
  [OID.timestamptz, timestamptz],
  [OID.date, date],
]);

/** For `pg` query configs: `{ types: QUERY_TYPES }`. */
export const QUERY_TYPES = {
  getTypeParser(oid: number, format?: string): (value: string) => unknown {
    const parser = PARSERS.get(oid);
    if (parser !== undefined && format !== 'binary') return parser;
    // pg's typing of getTypeParser is a union of text/binary overloads; text is all we ask for.
    return types.getTypeParser(oid, 'text') as (value: string) => unknown;
  },
};

/** Non-JSON values that still slip through (arrays of dates, buffers) as JSON-safe values. */
export function toJsonValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}
