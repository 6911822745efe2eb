import type { TrackedEvent } from '@tracklane/core';
import { TracklaneError } from '@tracklane/core';

export type LiveListener = (events: readonly TrackedEvent[]) => void;

/**
 * Newly stored events, fanned out in-process to live-tail clients. The storage writer publishes after each
 * committed batch, so a client sees what queries will see. Listeners must not block: each live-tail
 * connection keeps its own bounded buffer.
 */
export class LiveEvents {
  readonly #listeners = new Set<LiveListener>();
  /** Ids of erased people: the store skips their events, so the live tail must too. */
  readonly #erased = new Set<string>();
  readonly #maxListeners: number;

  constructor(maxListeners = 64) {
    this.#maxListeners = maxListeners;
  }

  subscribe(listener: LiveListener): () => void {
    if (this.#listeners.size >= this.#maxListeners) {
      throw new TracklaneError(
        'E_OVERLOADED',
        `too many live-tail clients (${this.#maxListeners}); close one and retry`,
        { retryAfterSeconds: 5 },
      );
    }
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(events: readonly TrackedEvent[]): void {
    if (events.length === 0 || this.#listeners.size === 0) return;
    const visible =
      this.#erased.size === 0
        ? events
        : events.filter((e) => !this.#erased.has(e.userId ?? '') && !this.#erased.has(e.anonymousId ?? ''));
    if (visible.length === 0) return;
    for (const listener of this.#listeners) listener(visible);
  }

  forget(ids: Iterable<string>): void {
    for (const id of ids) this.#erased.add(id);
  }

  get size(): number {
    return this.#listeners.size;
  }
}
