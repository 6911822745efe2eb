import { TracklaneError } from '@tracklane/core';
import type { Aggregate } from '../aggregates/aggregate.ts';
import { type Duration, toMs } from './duration.ts';
import type { SessionWindows } from './window.ts';

/** Per-key windows that stay open while events keep arriving less than `gap` apart. */
export function session(gap: Duration): SessionWindows {
  const gapMs = toMs(gap);
  if (gapMs <= 0) throw new TracklaneError('E_BAD_ARGUMENT', 'session gap must be positive');
  return { kind: 'session', gapMs };
}

/** One open session: `end` is the time of its latest event (the window itself reaches end + gap). */
export interface OpenSession<A> {
  start: number;
  end: number;
  acc: A;
}

/**
 * Adds an event at `ts` to a key's sessions (kept sorted by start), merging every session the event
 * bridges: two sessions 40 minutes apart become one when an out-of-order event lands between them.
 * Events exactly `gap` apart share a session; more than `gap` apart split.
 */
export function addToSessions<A>(
  sessions: OpenSession<A>[],
  ts: number,
  gapMs: number,
  agg: Aggregate<unknown, A, unknown>,
  input: unknown,
): void {
  let merged: OpenSession<A> | undefined;
  let i = 0;
  while (i < sessions.length) {
    const s = sessions[i]!;
    if (ts >= s.start - gapMs && ts <= s.end + gapMs) {
      if (merged === undefined) {
        merged = s;
        i++;
      } else {
        merged.start = Math.min(merged.start, s.start);
        merged.end = Math.max(merged.end, s.end);
        merged.acc = agg.merge(merged.acc, s.acc);
        sessions.splice(i, 1);
      }
    } else {
      i++;
    }
  }
  if (merged === undefined) {
    merged = { start: ts, end: ts, acc: agg.create() };
    let at = 0;
    while (at < sessions.length && sessions[at]!.start < ts) at++;
    sessions.splice(at, 0, merged);
  } else {
    merged.start = Math.min(merged.start, ts);
    merged.end = Math.max(merged.end, ts);
  }
  merged.acc = agg.add(merged.acc, input);
}
