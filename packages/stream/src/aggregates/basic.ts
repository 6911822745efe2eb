import type { Aggregate } from './aggregate.ts';

/** Number of inputs. */
export function count<T = unknown>(): Aggregate<T, number, number> {
  return {
    name: 'count',
    extract: () => 1,
    create: () => 0,
    add: (acc) => acc + 1,
    merge: (a, b) => a + b,
    result: (acc) => acc,
    toJSON: (acc) => acc,
    fromJSON: (json) => json as number,
  };
}

/** Sum of `of(input)`; inputs where it is not a finite number are skipped. */
export function sum<T>(of: (input: T) => number | null | undefined): Aggregate<T, number, number> {
  return {
    name: 'sum',
    extract: of,
    create: () => 0,
    add: (acc, v) => (typeof v === 'number' && Number.isFinite(v) ? acc + v : acc),
    merge: (a, b) => a + b,
    result: (acc) => acc,
    toJSON: (acc) => acc,
    fromJSON: (json) => json as number,
  };
}

function extreme<T>(
  name: string,
  of: (input: T) => number | null | undefined,
  pick: (a: number, b: number) => number,
): Aggregate<T, number | null, number | null> {
  const keep = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : pick(a, b));
  return {
    name,
    extract: of,
    create: () => null,
    add: (acc, v) => (typeof v === 'number' && Number.isFinite(v) ? keep(acc, v) : acc),
    merge: keep,
    result: (acc) => acc,
    toJSON: (acc) => acc,
    fromJSON: (json) => json as number | null,
  };
}

/** Smallest `of(input)`, null when there was none. */
export function min<T>(
  of: (input: T) => number | null | undefined,
): Aggregate<T, number | null, number | null> {
  return extreme('min', of, Math.min);
}

/** Largest `of(input)`, null when there was none. */
export function max<T>(
  of: (input: T) => number | null | undefined,
): Aggregate<T, number | null, number | null> {
  return extreme('max', of, Math.max);
}

interface AvgAcc {
  sum: number;
  n: number;
}

/** Mean of `of(input)`, null when there was none. Kept as sum and count so partial averages merge exactly. */
export function avg<T>(of: (input: T) => number | null | undefined): Aggregate<T, AvgAcc, number | null> {
  return {
    name: 'avg',
    extract: of,
    create: () => ({ sum: 0, n: 0 }),
    add(acc, v) {
      if (typeof v === 'number' && Number.isFinite(v)) {
        acc.sum += v;
        acc.n += 1;
      }
      return acc;
    },
    merge(a, b) {
      a.sum += b.sum;
      a.n += b.n;
      return a;
    },
    result: (acc) => (acc.n === 0 ? null : acc.sum / acc.n),
    toJSON: (acc) => acc,
    fromJSON: (json) => ({ ...(json as AvgAcc) }),
  };
}

interface LatestAcc<V> {
  ts: number;
  tie: string;
  value: V | null;
}

/**
 * The value carried by the input with the greatest `at(input)` (ties broken by `tie`, e.g. the message id,
 * so that the winner does not depend on arrival order). Inputs where `of` returns undefined are skipped.
 */
export function latest<T, V>(
  of: (input: T) => V | undefined,
  at: (input: T) => number,
  tie: (input: T) => string = () => '',
): Aggregate<T, LatestAcc<V>, V | null> {
  const newer = (a: LatestAcc<V>, b: LatestAcc<V>) => b.ts > a.ts || (b.ts === a.ts && b.tie > a.tie);
  return {
    name: 'latest',
    extract(input) {
      const value = of(input);
      return value === undefined ? undefined : { ts: at(input), tie: tie(input), value };
    },
    create: () => ({ ts: Number.NEGATIVE_INFINITY, tie: '', value: null }),
    add(acc, v) {
      const candidate = v as LatestAcc<V> | undefined;
      return candidate !== undefined && newer(acc, candidate) ? candidate : acc;
    },
    merge: (a, b) => (newer(a, b) ? b : a),
    result: (acc) => acc.value,
    toJSON: (acc) => (acc.value === null ? null : acc),
    fromJSON: (json) =>
      json === null ? { ts: Number.NEGATIVE_INFINITY, tie: '', value: null } : (json as LatestAcc<V>),
  };
}
