import type { Operator } from './operator.ts';

/**
 * Drops elements whose id was already seen. Ids are remembered per partition (producers key a user's
 * events, and therefore a retried event, to the same partition) while their event time is within
 * `horizonMs` of the watermark. An element older than the horizon cannot be checked any more, so it goes
 * to the late side output instead of risking a double count: that keeps the result independent of when
 * old ids happen to be purged, which restart-equals-clean-run depends on.
 */
export function dedupeOp<T>(
  id: (value: T) => string | null | undefined,
  horizonMs: number,
  name: string,
): Operator {
  return {
    kind: 'dedupe',
    name,
    stateless: false,
    horizonMs,
    compile(next, scope, state, opIndex) {
      const seen = state.seen(opIndex);
      return (value) => {
        scope.stage = name;
        const key = id(value as T);
        if (key === null || key === undefined) {
          next(value);
          return;
        }
        if (scope.ts < scope.watermark - horizonMs) {
          scope.pendingLate.push([value, `older than the ${name} horizon`]);
          return;
        }
        if (seen.has(key)) return;
        for (const [op, pending] of scope.pendingIds) if (op === opIndex && pending === key) return;
        scope.pendingIds.push([opIndex, key]);
        next(value);
      };
    },
  };
}
