import { DEAD_LETTER_TOPIC } from '@tracklane/collector';
import type { Log, LogRecord } from '@tracklane/log';
import type { DeadLetter, Store } from '@tracklane/storage';
import type { Logger } from 'pino';
import { retryUntilStopping } from './retry-until-stopping.ts';

export const DEAD_LETTER_GROUP = 'dead-letters';

export interface DeadLetterWriter {
  stop(): Promise<void>;
}

/**
 * Copies the `dead-letter` topic into the store's `dead_letters` table, where `/api/sql` and
 * `tracklane dead-letters replay` find them. Same guarantees as the storage writer: offsets committed
 * after the insert, ids from the failed record (see letterId) so a re-delivered letter is stored once.
 */
export async function startDeadLetterWriter(
  log: Log,
  store: Store,
  logger: Logger,
): Promise<DeadLetterWriter> {
  const consumer = await log.consumer({
    group: DEAD_LETTER_GROUP,
    topics: [DEAD_LETTER_TOPIC],
    from: 'earliest',
  });
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const records = await retryUntilStopping(
        'dead-letter writer poll',
        () => consumer.poll({ maxRecords: 1_000, timeoutMs: 200 }),
        logger,
        () => stopping,
      );
      if (records.length === 0) continue;
      const letters = records.map(toDeadLetter);
      await retryUntilStopping(
        'dead-letter write',
        () => store.insertDeadLetters(letters),
        logger,
        () => stopping,
        'error',
      );
      await retryUntilStopping(
        'dead-letter writer commit',
        () => consumer.commit(),
        logger,
        () => stopping,
      );
    }
  })();
  return {
    async stop() {
      stopping = true;
      try {
        await loop;
      } catch (err) {
        logger.warn(
          { err },
          'dead-letter writer stopped with an unwritten batch; it will be re-read on restart',
        );
      }
      await consumer.close();
    },
  };
}

/**
 * The letter's id: the one the stream engine gave it, else one derived from the record that failed and
 * where (the engine appends dead letters at-least-once: a poison record redone after a crash is appended
 * again, and must be stored once), else the letter's own log position (collector rejections).
 */
function letterId(record: LogRecord): string {
  const h = record.headers;
  if (h.id !== undefined) return h.id;
  const source = h['source-topic'];
  if (source !== undefined && h['source-partition'] !== undefined && h['source-offset'] !== undefined) {
    return `${h.stage ?? ''}/${h.operator ?? ''}/${source}/${h['source-partition']}/${h['source-offset']}`;
  }
  return `${record.topic}/${record.partition}/${record.offset}`;
}

function toDeadLetter(record: LogRecord): DeadLetter {
  return {
    id: letterId(record),
    stage: record.headers.stage ?? 'unknown',
    reason: record.headers.reason ?? 'unknown',
    payload: record.value.toString('utf8'),
    sourceId: record.headers.source ?? null,
    messageId: record.headers['message-id'] ?? null,
    failedAt: record.timestamp,
  };
}
