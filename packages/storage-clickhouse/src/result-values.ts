/**
 * ClickHouse JSON values in the shapes DuckDB's store returns, so API responses do not depend on the engine:
 * 64-bit integers as numbers (strings past 2^53), decimals as numbers, dates and times as UTC ISO strings.
 */

/** `Nullable(LowCardinality(String))` -> `String`. */
function baseType(type: string): string {
  let t = type.trim();
  for (;;) {
    const wrapped = /^(?:Nullable|LowCardinality)\((.*)\)$/.exec(t);
    if (wrapped === null) return t;
    t = wrapped[1]!;
  }
}

export type Converter = (value: unknown) => unknown;

function integer(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

function decimal(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const n = Number(value);
  return Number.isFinite(n) ? n : value;
}

function isoTime(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const ms = Date.parse(value.includes('T') ? value : `${value.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

function isoDate(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const ms = Date.parse(`${value}T00:00:00Z`);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

const identity: Converter = (value) => value;

export function converterFor(type: string): Converter {
  const t = baseType(type);
  if (/^U?Int(64|128|256)$/.test(t)) return integer;
  if (/^Decimal/.test(t)) return decimal;
  if (/^DateTime/.test(t)) return isoTime;
  if (/^Date(32)?$/.test(t)) return isoDate;
  return identity;
}
