import type { Aggregate } from './aggregate.ts';

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
