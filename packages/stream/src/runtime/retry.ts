export interface RetryPolicy {
  /** Attempts after the first failure before the record is dead-lettered. Default 3. */
  retries: number;
  /** First backoff; doubles per attempt up to `maxDelayMs`. Default 10 ms. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, initialDelayMs: 10, maxDelayMs: 1000 };

export function backoff(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** attempt);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
