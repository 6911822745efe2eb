import type { Logger } from 'pino';

const MAX_BACKOFF_MS = 5_000;

/**
 * Runs a log call (poll, commit) until it succeeds, with backoff. A replicated log refuses calls for a few
 * seconds while it elects new leaders after losing a node; a writer must wait that out, not crash the
 * process. Gives up (rethrows) only once the writer is stopping.
 */
export async function retryLogCall<T>(
  what: string,
  call: () => Promise<T>,
  logger: Logger,
  stopping: () => boolean,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (stopping()) throw err;
      const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** attempt);
      logger.warn({ err, attempt }, `${what} failed; retrying in ${delay} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
