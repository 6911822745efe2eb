import type { TrackedEvent } from '@tracklane/core';
import { isbot } from 'isbot';
import { contextOf, tracklaneContextOf } from './enrich-step.ts';

/** Flags crawlers and headless browsers (`context.tracklane.bot: true`) so analytics can exclude them;
 * bot events are kept, not dropped: whether they count is a query-time decision. */
export function flagBots(event: TrackedEvent): void {
  const ua = contextOf(event).userAgent;
  if (typeof ua === 'string' && ua.length > 0 && isbot(ua)) tracklaneContextOf(event).bot = true;
}
