import { batchBody, type Message, type Transport } from '@tracklane/sdk-core';

/** Chrome caps the bodies of all in-flight keepalive requests and beacons together at 64 KiB. */
export const KEEPALIVE_BYTES = 60_000;

export interface BrowserTransport extends Transport {
  /** Fire-and-forget for page unload; true if the browser accepted it (not that the collector did). */
  beacon(batch: Message[]): boolean;
}

/**
 * The write key travels in the body and the request is `text/plain` without custom headers: a CORS "simple
 * request", so a site on another origin pays no preflight, and the same body works for `sendBeacon`, which
 * cannot set headers at all. `credentials: 'omit'` keeps the collector's cookies out of it.
 */
export function browserTransport(host: string, writeKey: string): BrowserTransport {
  const url = `${host.replace(/\/+$/, '')}/v1/batch`;
  return {
    async send(batch) {
      const body = batchBody(batch, writeKey);
      const res = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain' },
        credentials: 'omit',
        // Lets the request outlive the page when it hides; only allowed for small bodies.
        keepalive: body.length < KEEPALIVE_BYTES,
      });
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        body: res.status === 400 ? await res.text() : undefined,
      };
    },
    beacon(batch) {
      try {
        return navigator.sendBeacon(url, batchBody(batch, writeKey));
      } catch {
        return false;
      }
    },
  };
}
