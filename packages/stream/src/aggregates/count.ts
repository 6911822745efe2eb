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
