import { TracklaneError } from '@tracklane/core';
import { type Duration, toMs } from './duration.ts';
import { mod } from './tumbling.ts';
import type { FixedWindows } from './window.ts';

/** Overlapping windows of `size` starting every `slide`; an event belongs to size/slide of them. */
export function hopping(size: Duration, slide: Duration): FixedWindows {
  const sizeMs = toMs(size);
  const slideMs = toMs(slide);
  if (sizeMs <= 0 || slideMs <= 0 || slideMs > sizeMs) {
    throw new TracklaneError('E_BAD_ARGUMENT', 'hopping windows need 0 < slide <= size');
  }
  return {
    kind: 'hopping',
    sizeMs,
    assign(ts, out) {
      const last = ts - mod(ts, slideMs);
      for (let start = last; start > ts - sizeMs; start -= slideMs) out.push(start);
    },
  };
}
