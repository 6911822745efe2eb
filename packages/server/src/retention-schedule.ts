import type { Store } from '@tracklane/storage';
import type { Logger } from 'pino';

const EVERY_MS = 60 * 60 * 1000;

/** Deletes raw events older than `retentionMs` now and then hourly. Returns a stop function. */
export function scheduleRetention(store: Store, retentionMs: number, logger: Logger): () => void {
  const run = () => {
    store.deleteEventsBefore(Date.now() - retentionMs).then(
      (deleted) => {
        if (deleted > 0) logger.info({ deleted }, 'retention: deleted old raw events');
      },
      (err: unknown) => logger.error({ err }, 'retention: delete failed; will retry next hour'),
    );
  };
  run();
  const timer = setInterval(run, EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
