import type { TrackedEvent } from '@tracklane/core';
import type { RequestFacts } from '../request-facts.ts';

/**
 * One enrichment step: mutates the event in place (no copies on the hot path). Steps are composed in
 * order by `buildEnrichment` and each is unit-tested alone.
 */
export type EnrichStep = (event: TrackedEvent, facts: RequestFacts) => void;

export type Bag = Record<string, unknown>;

export function contextOf(event: TrackedEvent): Bag {
  let context = event.context;
  if (context === undefined) {
    context = {};
    event.context = context;
  }
  return context;
}

/** Server-derived fields live under `context.tracklane` so they never collide with what clients send. */
export function tracklaneContextOf(event: TrackedEvent): Bag {
  const context = contextOf(event);
  let bag = context.tracklane as Bag | undefined;
  if (typeof bag !== 'object' || bag === null) {
    bag = {};
    context.tracklane = bag;
  }
  return bag;
}
