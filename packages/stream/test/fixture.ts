import type { TrackedEvent } from '@tracklane/core';
import type { RecordInput } from '@tracklane/log';

/** Deterministic pseudo-random numbers (mulberry32), so every run sees the same event stream. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const T0 = Date.UTC(2026, 0, 5, 22, 0, 0);

/**
 * A few hours of traffic from `visitors` visitors: page views and tracks in bursts (so there are several
 * sessions each), identifies, out-of-order arrival within 40 s, and ~3% exact re-sends (same messageId).
 */
export function generateEvents(count: number, visitors = 40, seed = 7): TrackedEvent[] {
  const rand = random(seed);
  const out: TrackedEvent[] = [];
  const clock = new Array<number>(visitors).fill(T0);
  for (let i = 0; i < count; i++) {
    const v = Math.floor(rand() * visitors);
    // Mostly seconds apart, sometimes a pause longer than the 30-minute session gap.
    clock[v]! += rand() < 0.05 ? 35 * 60_000 + rand() * 600_000 : rand() * 90_000;
    const ts = clock[v]!;
    const anonymousId = `anon-${v}`;
    const userId = v % 3 === 0 ? `user-${v}` : undefined;
    const base = {
      messageId: `m-${seed}-${i}`,
      anonymousId,
      ...(userId === undefined ? {} : { userId }),
      timestamp: new Date(ts).toISOString(),
      receivedAt: new Date(ts).toISOString(),
      sourceId: 'src',
    };
    const kind = rand();
    if (kind < 0.5) {
      out.push({ ...base, type: 'page', name: 'Home', properties: { path: `/p/${Math.floor(rand() * 5)}` } });
    } else if (kind < 0.9) {
      out.push({
        ...base,
        type: 'track',
        event: ['Signed Up', 'Clicked', 'Bought'][Math.floor(rand() * 3)]!,
      });
    } else {
      out.push({ ...base, type: 'identify', traits: { plan: rand() < 0.5 ? 'free' : 'pro', n: i } });
    }
  }
  // Arrival order: event time plus up to 40 s of jitter (the pipelines allow 1 min out of order).
  const arrival = out.map((e, i) => ({ e, at: Date.parse(e.timestamp) + rand() * 40_000, i }));
  arrival.sort((a, b) => a.at - b.at || a.i - b.i);
  const ordered = arrival.map((a) => a.e);
  const withRepeats: TrackedEvent[] = [];
  for (const e of ordered) {
    withRepeats.push(e);
    if (rand() < 0.03) withRepeats.push(e);
  }
  return withRepeats;
}

/** The collector's record shape (keyed by anonymousId, falling back to userId). */
export function toRecord(event: TrackedEvent): RecordInput {
  return {
    key: event.anonymousId ?? event.userId ?? null,
    value: Buffer.from(JSON.stringify(event)),
    timestamp: Date.parse(event.receivedAt),
  };
}
