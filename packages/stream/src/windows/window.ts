/** A half-open event-time interval [start, end) in epoch ms. */
export interface Window {
  start: number;
  end: number;
}

/**
 * Fixed windows (tumbling, hopping) are assigned from an event's time alone, which is what lets their
 * partial aggregates from different partitions be merged by window key.
 */
export interface FixedWindows {
  readonly kind: 'tumbling' | 'hopping';
  readonly sizeMs: number;
  /** Appends the start of every window containing `ts` to `out` (cleared by the caller). */
  assign(ts: number, out: number[]): void;
}

/** Gap-based windows are per key and merge when an event bridges two of them. */
export interface SessionWindows {
  readonly kind: 'session';
  readonly gapMs: number;
}

export type WindowSpec = FixedWindows | SessionWindows;
