import type { TrackingPlans } from './tracking-plan.ts';

export type IpMode = 'anonymize' | 'drop' | 'keep';

/** Everything an operator can tune about ingestion; defaults in DEFAULT_COLLECTOR_OPTIONS. */
export interface CollectorOptions {
  /** Segment's limits: one event, and one request body after decompression. */
  maxEventBytes: number;
  maxBatchBytes: number;
  /** What is kept of the client's IP: last IPv4 octet / last 80 IPv6 bits zeroed, nothing, or all of it. */
  ip: IpMode;
  /** MaxMind-format (.mmdb) city or country database; geo enrichment is off without one. */
  geoIpDatabase?: string | undefined;
  /** A messageId seen from the same source within this window is acknowledged but not appended again. */
  dedupWindowMs: number;
  /** Bound on remembered messageIds; past it the oldest are forgotten and storage's PK dedup is the backstop. */
  dedupMaxEntries: number;
  /** Token bucket per write key, in events per second (burst: 2 s worth). 0 turns it off. */
  rateLimitPerKey: number;
  /** Token bucket per client IP, in requests per second (burst: 2 s worth). 0 turns it off. */
  rateLimitPerIp: number;
  /** Events being appended at once; past it requests get 503 + Retry-After instead of queueing. */
  maxInFlightEvents: number;
  /** Origins browsers may send events from; ['*'] for any. Applies to collector routes only. */
  corsOrigins: string[];
  /** Write key whose source receives Snowplow events that carry no key of their own (see snowplow.ts). */
  snowplowWriteKey?: string | undefined;
  /** Per-source JSON Schemas for track events' properties, keyed by source id or '*'. */
  trackingPlans?: TrackingPlans | undefined;
  /**
   * Whose X-Forwarded-For is believed for the client IP (anonymisation, geo-IP, the per-IP rate limit):
   * false, the default, uses the peer address and ignores the header (anyone can send it); true trusts any
   * peer; a list trusts those proxy addresses / CIDRs (or proxy-addr's names: loopback, linklocal,
   * uniquelocal). Applies to the HTTP server the collector runs in.
   */
  trustProxy: boolean | string[];
  /** Time a client has to send a whole request (headers and body) before it gets 408; bounds slow
   * senders holding connections. Applies to the HTTP server the collector runs in. */
  requestTimeoutMs: number;
}

export const DEFAULT_COLLECTOR_OPTIONS: CollectorOptions = {
  maxEventBytes: 32 * 1024,
  maxBatchBytes: 500 * 1024,
  ip: 'anonymize',
  dedupWindowMs: 24 * 60 * 60 * 1000,
  dedupMaxEntries: 1_000_000,
  rateLimitPerKey: 20_000,
  rateLimitPerIp: 2_000,
  maxInFlightEvents: 20_000,
  corsOrigins: ['*'],
  trustProxy: false,
  requestTimeoutMs: 30_000,
};
