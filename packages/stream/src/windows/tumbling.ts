import { TracklaneError } from '@tracklane/core';
import { type Duration, toMs } from './duration.ts';
import type { FixedWindows } from './window.ts';

/** Non-overlapping windows of `size`, aligned to the epoch (a '1m' window starts on the minute). */
export function tumbling(size: Duration): FixedWindows {
  const sizeMs = toMs(size);
  if (sizeMs <= 0) throw new TracklaneError('E_BAD_ARGUMENT', 'tumbling window size must be positive');
  return {
    kind: 'tumbling',
    sizeMs,
    assign(ts, out) {
      out.push(ts - mod(ts, sizeMs));
    },
  };
}

/** Modulo that stays non-negative for timestamps before the epoch. */
export function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}
