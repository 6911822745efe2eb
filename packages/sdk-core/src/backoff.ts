export interface BackoffOptions {
  /** First retry waits up to this long. */
  minMs: number;
  /** No computed wait exceeds this (a server's Retry-After may). */
  maxMs: number;
}

/**
 * "Full jitter" (AWS architecture blog, 2015): a uniform random wait in [0, min(max, min * 2^attempt)).
 * Spreading retries over the whole window is what stops a fleet of clients that failed together from
 * retrying together and knocking the collector over again.
 */
export function backoffDelay(
  attempt: number,
  { minMs, maxMs }: BackoffOptions,
  random = Math.random,
): number {
  return Math.floor(random() * Math.min(maxMs, minMs * 2 ** attempt));
}

/** A server may ask for a specific pause; we never retry sooner than asked, but cap absurd values. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** Parses `Retry-After`: delta-seconds or an HTTP date. Returns ms to wait, or undefined if absent/invalid. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  const ms = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}
