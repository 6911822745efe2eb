import type { Aggregate } from './aggregate.ts';

/**
 * Exact number of distinct `of(input)` values. Memory grows with the cardinality: prefer
 * `approxDistinct` for anything user-sized; this one exists to cross-check it and for small domains.
 */
export function distinct<T>(of: (input: T) => string | null | undefined): Aggregate<T, Set<string>, number> {
  return {
    name: 'distinct',
    extract: of,
    create: () => new Set<string>(),
    add(acc, v) {
      if (typeof v === 'string') acc.add(v);
      return acc;
    },
    merge(a, b) {
      for (const v of b) a.add(v);
      return a;
    },
    result: (acc) => acc.size,
    toJSON: (acc) => [...acc],
    fromJSON: (json) => new Set(json as string[]),
  };
}
