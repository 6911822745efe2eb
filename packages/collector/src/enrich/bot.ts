import type { TrackedEvent } from '@tracklane/core';
import { isbot } from 'isbot';
import { LRUCache } from 'lru-cache';
import { contextOf, type EnrichStep, tracklaneContextOf } from './enrich-step.ts';

const MAX_CACHED = 2_000;

/** Flags crawlers and headless browsers (`context.tracklane.bot: true`) so analytics can exclude them;
 * bot events are kept, not dropped: whether they count is a query-time decision. isbot's pattern costs
 * microseconds per user agent and real traffic repeats a few thousand of them, so answers are cached (LRU). */
export function makeBotStep(): EnrichStep {
  const cache = new LRUCache<string, boolean>({ max: MAX_CACHED });
  return (event: TrackedEvent) => {
    const ua = contextOf(event).userAgent;
    if (typeof ua !== 'string' || ua.length === 0) return;
    let bot = cache.get(ua);
    if (bot === undefined) {
      bot = isbot(ua);
      cache.set(ua, bot);
    }
    if (bot) tracklaneContextOf(event).bot = true;
  };
}
