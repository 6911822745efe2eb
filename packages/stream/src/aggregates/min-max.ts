import type { Aggregate } from './aggregate.ts';

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
