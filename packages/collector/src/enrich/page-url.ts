import type { TrackedEvent } from '@tracklane/core';
import { LRUCache } from 'lru-cache';
import { type Bag, contextOf, type EnrichStep, tracklaneContextOf } from './enrich-step.ts';

const UTM: readonly [param: string, field: string][] = [
  ['utm_campaign', 'name'],
  ['utm_source', 'source'],
  ['utm_medium', 'medium'],
  ['utm_term', 'term'],
  ['utm_content', 'content'],
];

const MAX_CACHED = 5_000;

/** What the step takes from one URL; `false` caches "not a URL" too. */
interface ParsedUrl {
  host: string;
  path: string;
  /** Segment's `context.campaign` from the UTM parameters, if any (shared: never mutated). */
  campaign: Bag | undefined;
}

/**
 * Splits the page URL (`context.page.url`, or a page event's `properties.url`) into
 * `context.tracklane.page` {host, path, referrerHost}, and fills Segment's `context.campaign` from UTM
 * parameters when the client did not. WHATWG URL parsing costs microseconds and a site's traffic repeats
 * its pages and referrers, so parsed URLs are cached (LRU) per step.
 */
export function makePageUrlStep(): EnrichStep {
  const cache = new LRUCache<string, ParsedUrl | false>({ max: MAX_CACHED });
  const parseCached = (url: string): ParsedUrl | undefined => {
    let parsed = cache.get(url);
    if (parsed === undefined) {
      parsed = parse(url);
      cache.set(url, parsed);
    }
    return parsed === false ? undefined : parsed;
  };
  return (event: TrackedEvent) => {
    const context = contextOf(event);
    const page = context.page as Bag | undefined;
    const properties = (event as { properties?: Bag }).properties;
    const url = stringOr(page?.url, event.type === 'page' ? properties?.url : undefined);
    const referrer = stringOr(page?.referrer, event.type === 'page' ? properties?.referrer : undefined);
    if (url === undefined && referrer === undefined) return;
    const out: Bag = {};
    const parsed = url === undefined ? undefined : parseCached(url);
    if (parsed !== undefined) {
      out.host = parsed.host;
      out.path = parsed.path;
      if (context.campaign === undefined && parsed.campaign !== undefined) context.campaign = parsed.campaign;
    }
    const ref = referrer === undefined ? undefined : parseCached(referrer);
    if (ref !== undefined) out.referrerHost = ref.host;
    tracklaneContextOf(event).page = out;
  };
}

function stringOr(a: unknown, b: unknown): string | undefined {
  if (typeof a === 'string' && a.length > 0) return a;
  if (typeof b === 'string' && b.length > 0) return b;
  return undefined;
}

function parse(url: string): ParsedUrl | false {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  let campaign: Bag | undefined;
  if (parsed.search.length > 0) {
    for (const [param, field] of UTM) {
      const value = parsed.searchParams.get(param);
      if (value === null) continue;
      campaign ??= {};
      campaign[field] = value;
    }
  }
  return { host: parsed.host, path: parsed.pathname, campaign };
}
