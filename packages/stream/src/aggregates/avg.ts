import type { Aggregate } from './aggregate.ts';

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
