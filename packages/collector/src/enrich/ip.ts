import { isIPv4, isIPv6 } from 'node:net';
import type { TrackedEvent } from '@tracklane/core';
import type { IpMode } from '../collector-options.ts';
import type { RequestFacts } from '../request-facts.ts';
import { contextOf, type EnrichStep } from './enrich-step.ts';

/**
 * Sets `context.ip` from the request when the client sent none, then applies the privacy mode. Runs after
 * geo-IP, which needs the full address. The request's address is anonymised once, not once per event: the
 * last answer is kept, and every event of a request (and the next requests of the same client) reuse it.
 */
export function makeIpStep(mode: IpMode): EnrichStep {
  let lastIp = '';
  let lastAnonymized: string | undefined;
  return (event: TrackedEvent, facts: RequestFacts) => {
    const context = contextOf(event);
    if (mode === 'drop') {
      delete context.ip;
      return;
    }
    if (typeof context.ip === 'string') {
      if (mode === 'anonymize') context.ip = anonymizeIp(context.ip);
      return;
    }
    if (mode === 'keep') {
      context.ip = facts.ip;
      return;
    }
    if (facts.ip !== lastIp) {
      lastIp = facts.ip;
      lastAnonymized = anonymizeIp(facts.ip);
    }
    context.ip = lastAnonymized;
  };
}

/** IPv4: last octet zeroed (/24). IPv6: last 80 bits zeroed (/48), as Google Analytics does. Anything
 * unparseable is dropped rather than stored as it came. */
export function anonymizeIp(ip: string): string | undefined {
  if (ip.startsWith('::ffff:') && isIPv4(ip.slice(7))) ip = ip.slice(7);
  if (isIPv4(ip)) return `${ip.slice(0, ip.lastIndexOf('.'))}.0`;
  if (!isIPv6(ip)) return undefined;
  const groups = expandIpv6(ip);
  return `${groups.slice(0, 3).join(':')}::`;
}

function expandIpv6(ip: string): string[] {
  const zone = ip.indexOf('%');
  const bare = zone === -1 ? ip : ip.slice(0, zone);
  const [head = '', tail] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - left.length - right.length;
  const groups = [...left, ...Array.from({ length: Math.max(0, missing) }, () => '0'), ...right];
  return groups.map((g) => (Number.parseInt(g, 16) || 0).toString(16));
}
