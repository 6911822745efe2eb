import type { Aggregate } from './aggregate.ts';

export interface TopKEntry {
  value: string;
  count: number;
}

/**
 * The k most frequent `of(input)` values with the Space-Saving algorithm (Metwally et al. 2005) over
 * `capacity` counters (default 10k). Counts are exact while fewer than `capacity` distinct values have been
 * seen; beyond that each reported count overestimates by at most total/capacity. Merging adds counters and
 * keeps the largest `capacity`, which keeps the same bound for the merged stream.
 */
export function topK<T>(
  of: (input: T) => string | null | undefined,
  k: number,
  options: { capacity?: number } = {},
): Aggregate<T, Map<string, number>, TopKEntry[]> {
  const capacity = Math.max(k, options.capacity ?? Math.max(10 * k, 1000));
  const trim = (counts: Map<string, number>) => {
    if (counts.size <= capacity) return counts;
    const kept = [...counts].sort((a, b) => b[1] - a[1]).slice(0, capacity);
    return new Map(kept);
  };
  return {
    name: 'topK',
    extract: of,
    create: () => new Map<string, number>(),
    add(acc, v) {
      if (typeof v !== 'string') return acc;
      const current = acc.get(v);
      if (current !== undefined) {
        acc.set(v, current + 1);
      } else if (acc.size < capacity) {
        acc.set(v, 1);
      } else {
        // Space-Saving: the new value replaces the smallest counter and inherits its count.
        let minKey = '';
        let minCount = Number.POSITIVE_INFINITY;
        for (const [key, c] of acc) {
          if (c < minCount) {
            minCount = c;
            minKey = key;
          }
        }
        acc.delete(minKey);
        acc.set(v, minCount + 1);
      }
      return acc;
    },
    merge(a, b) {
      for (const [key, c] of b) a.set(key, (a.get(key) ?? 0) + c);
      return trim(a);
    },
    result: (acc) =>
      [...acc]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, k)
        .map(([value, c]) => ({ value, count: c })),
    toJSON: (acc) => [...acc],
    fromJSON: (json) => new Map(json as [string, number][]),
  };
}
