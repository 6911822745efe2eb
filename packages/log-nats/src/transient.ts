import { JetStreamApiError } from '@nats-io/jetstream';

/**
 * Errors a NATS cluster gives while it is electing leaders (just started, a node lost, a stream just
 * created): the same request succeeds moments later. Everything else is final.
 */
export function isTransient(err: unknown): boolean {
  const e = err as { name?: string; code?: unknown; message?: string; api_error?: { code?: number } };
  const name = e?.name ?? '';
  return (
    (err instanceof JetStreamApiError && err.status === 503) ||
    name === 'TimeoutError' ||
    name === 'NoRespondersError' ||
    name === 'JetStreamNotEnabled' ||
    e?.api_error?.code === 503 ||
    /no responders|timeout|not available|no suitable peers|leader/i.test(String(e?.message ?? ''))
  );
}

/** Runs `fn`, retrying transient failures with a growing delay for at most `budgetMs`. */
export async function retryTransient<T>(fn: () => Promise<T>, budgetMs = 15_000): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || Date.now() + attempt * 100 > deadline) throw err;
      await new Promise((r) => setTimeout(r, Math.min(1000, attempt * 100)));
    }
  }
}
