import type { TrackedEvent } from '@tracklane/core';
import { type Bag, contextOf, tracklaneContextOf } from './enrich-step.ts';

const UTM: readonly [param: string, field: string][] = [
  ['utm_campaign', 'name'],
  ['utm_source', 'source'],
  ['utm_medium', 'medium'],
  ['utm_term', 'term'],
  ['utm_content', 'content'],
];

/**
 * Splits the page URL (`context.page.url`, or a page event's `properties.url`) into
 * `context.tracklane.page` {host, path, referrerHost}, and fills Segment's `context.campaign` from UTM
 * parameters when the client did not.
 */
export function parsePageUrl(event: TrackedEvent): void {
  const context = contextOf(event);
  const page = context.page as Bag | undefined;
  const properties = (event as { properties?: Bag }).properties;
  const url = stringOr(page?.url, event.type === 'page' ? properties?.url : undefined);
  const referrer = stringOr(page?.referrer, event.type === 'page' ? properties?.referrer : undefined);
  if (url === undefined && referrer === undefined) return;
  const out: Bag = {};
  const parsed = url === undefined ? undefined : parse(url);
  if (parsed !== undefined) {
    out.host = parsed.host;
    out.path = parsed.pathname;
    if (context.campaign === undefined && parsed.search.length > 0) {
      let campaign: Bag | undefined;
      for (const [param, field] of UTM) {
        const value = parsed.searchParams.get(param);
        if (value === null) continue;
        campaign ??= {};
        campaign[field] = value;
      }
      if (campaign !== undefined) context.campaign = campaign;
    }
  }
  const ref = referrer === undefined ? undefined : parse(referrer);
  if (ref !== undefined) out.referrerHost = ref.host;
  tracklaneContextOf(event).page = out;
}

function stringOr(a: unknown, b: unknown): string | undefined {
  if (typeof a === 'string' && a.length > 0) return a;
  if (typeof b === 'string' && b.length > 0) return b;
  return undefined;
}

function parse(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}
