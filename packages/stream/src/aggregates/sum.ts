import type { Aggregate } from './aggregate.ts';

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
