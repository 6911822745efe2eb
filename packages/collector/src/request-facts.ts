/** What the collector knows about the request an event arrived in; computed once per request. */
export interface RequestFacts {
  /** The peer address (or the first X-Forwarded-For hop when the server trusts a proxy). */
  ip: string;
  /** The request's User-Agent header; only protocols whose clients are the end user's browser use it. */
  userAgent: string | undefined;
  receivedAt: string;
  receivedAtMs: number;
  /** Batch-level `sentAt` (Segment, PostHog `sent_at`), used when an event has none of its own. */
  sentAt: string | undefined;
}
