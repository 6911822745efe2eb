import type { TrackedEvent } from '@tracklane/core';
import { LRUCache } from 'lru-cache';
import { UAParser } from 'ua-parser-js';
import { contextOf, type EnrichStep, tracklaneContextOf } from './enrich-step.ts';

export interface ParsedUserAgent {
  browser?: { name?: string; version?: string };
  os?: { name?: string; version?: string };
  device?: { type?: string; vendor?: string; model?: string };
}

const MAX_CACHED = 2_000;
const MAX_UA_LENGTH = 1_024;

/**
 * Parses `context.userAgent` into `context.tracklane.ua`. Parsing costs tens of microseconds and real
 * traffic repeats a few thousand user agents, so results are cached (LRU). Events share the cached object:
 * nothing mutates it after enrichment, and it is serialised with the event right away.
 */
export function makeUserAgentStep(): EnrichStep {
  const cache = new LRUCache<string, ParsedUserAgent>({ max: MAX_CACHED });
  return (event: TrackedEvent) => {
    const ua = contextOf(event).userAgent;
    if (typeof ua !== 'string' || ua.length === 0) return;
    let parsed = cache.get(ua);
    if (parsed === undefined) {
      parsed = parseUserAgent(ua.slice(0, MAX_UA_LENGTH));
      cache.set(ua, parsed);
    }
    tracklaneContextOf(event).ua = parsed;
  };
}

export function parseUserAgent(ua: string): ParsedUserAgent {
  const r = new UAParser(ua).getResult();
  const out: ParsedUserAgent = {};
  if (r.browser.name !== undefined)
    out.browser = compact({ name: r.browser.name, version: r.browser.version });
  if (r.os.name !== undefined) out.os = compact({ name: r.os.name, version: r.os.version });
  const device = compact({ type: r.device.type, vendor: r.device.vendor, model: r.device.model });
  if (Object.keys(device).length > 0) out.device = device;
  return out;
}

function compact<T extends Record<string, string | undefined>>(value: T): { [K in keyof T]?: string } {
  const out: Record<string, string> = {};
  for (const key in value) if (value[key] !== undefined) out[key] = value[key] as string;
  return out as { [K in keyof T]?: string };
}
