import type { Logger } from 'pino';

const MAX_BACKOFF_MS = 5_000;

/**
 * Runs a call (a log poll or commit, a store write) until it succeeds, with exponential backoff. A
 * replicated log refuses calls for a few seconds while it elects new leaders, and a store may be briefly
 * down; a writer must wait that out, never crash the process nor skip the batch. Gives up (rethrows) only
 * once the writer is stopping: the batch is then re-read on restart.
 */
export async function retryUntilStopping<T>(
  what: string,
  call: () => Promise<T>,
  logger: Logger,
  stopping: () => boolean,
  level: 'warn' | 'error' = 'warn',
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (stopping()) throw err;
      const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** attempt);
      logger[level]({ err, attempt }, `${what} failed; retrying in ${delay} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
