import type { TrackedEvent } from '@tracklane/core';

const CAPACITY = 8_192;
/** Up to this many events per stored batch are sampled: percentiles need a sample, not every event. */
const PER_BATCH = 64;

export interface LatencySummary {
  /** Milliseconds from the collector receiving an event (`receivedAt`) to the store holding it. */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  samples: number;
  windowSeconds: number;
}

/**
 * End-to-end latency (received -> stored) over a recent window, from a fixed ring of samples: bounded
 * memory and a few dozen Date.parse calls per stored batch, whatever the event rate.
 */
export class EndToEndLatency {
  readonly #at = new Float64Array(CAPACITY);
  readonly #ms = new Float64Array(CAPACITY);
  #next = 0;
  #count = 0;

  constructor(readonly windowMs = 5 * 60_000) {}

  /** Records a stored batch; call right after the store's insert resolves. */
  record(events: readonly TrackedEvent[], now = Date.now()): void {
    const step = Math.max(1, Math.floor(events.length / PER_BATCH));
    for (let i = 0; i < events.length; i += step) {
      const received = Date.parse(events[i]!.receivedAt);
      if (Number.isNaN(received)) continue;
      this.#at[this.#next] = now;
      this.#ms[this.#next] = Math.max(0, now - received);
      this.#next = (this.#next + 1) % CAPACITY;
      if (this.#count < CAPACITY) this.#count++;
    }
  }

  summary(now = Date.now()): LatencySummary {
    const recent: number[] = [];
    for (let i = 0; i < this.#count; i++) {
      if (now - this.#at[i]! <= this.windowMs) recent.push(this.#ms[i]!);
    }
    recent.sort((a, b) => a - b);
    const pick = (q: number) =>
      recent.length === 0 ? null : recent[Math.min(recent.length - 1, Math.floor(q * recent.length))]!;
    return {
      p50Ms: pick(0.5),
      p99Ms: pick(0.99),
      maxMs: recent.length === 0 ? null : recent[recent.length - 1]!,
      samples: recent.length,
      windowSeconds: this.windowMs / 1000,
    };
  }
}
