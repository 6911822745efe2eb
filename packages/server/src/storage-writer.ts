import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { EVENTS_TOPIC } from '@tracklane/collector';
import type { TrackedEvent } from '@tracklane/core';
import type { Log, LogRecord } from '@tracklane/log';
import type { DeadLetter, Store } from '@tracklane/storage';
import type { Logger } from 'pino';
import { retryUntilStopping } from './retry-until-stopping.ts';

export const STORAGE_GROUP = 'storage';

/**
 * Most events one store write takes. A poll returns what is there, so a quiet pipeline still writes each
 * event at once; a backlog goes in large batches. Every write pays fixed costs (a transaction, staging,
 * the tombstone and identity statements, DuckDB's commit): batches of 10,000 measured 18 us of CPU per event
 * into DuckDB against 28 us for batches of 2,000 (`tracklane start` under load: 59 against 69-79 us per
 * event for the whole process). A batch is ~10 MB of events in memory at most.
 */
export const STORAGE_BATCH_MAX = 10_000;

/** Longest rest between two short writes, i.e. the most latency resting adds. */
const MAX_REST_MS = 100;

export interface StorageWriter {
  /** Finishes the batch in hand, commits, and leaves the group. */
  stop(): Promise<void>;
  /** Total events written to the store by this writer since start. */
  readonly written: number;
}

/**
 * Copies the `events` topic into the store. At-least-once: offsets are committed only after the store
 * transaction, and the store's insert is idempotent on message id, so a crash between the two at worst
 * re-inserts events that are then skipped. A batch the store rejects is retried with backoff, never
 * skipped: storage being down must not lose events.
 */
export async function startStorageWriter(
  log: Log,
  store: Store,
  logger: Logger,
  /** Called with each batch once it is stored (live tail); must not throw or block. */
  onStored?: (events: TrackedEvent[]) => void,
  /** Most events per store write (default STORAGE_BATCH_MAX), e.g. to match a baseline's batch size. */
  maxBatch = STORAGE_BATCH_MAX,
): Promise<StorageWriter> {
  const consumer = await log.consumer({ group: STORAGE_GROUP, topics: [EVENTS_TOPIC], from: 'earliest' });
  let stopping = false;
  // Aborted by stop(), so a rest between writes ends at once.
  const stopped = new AbortController();
  let written = 0;
  const loop = (async () => {
    while (!stopping) {
      const records = await retryUntilStopping(
        'storage writer poll',
        () => consumer.poll({ maxRecords: maxBatch, timeoutMs: 200 }),
        logger,
        () => stopping,
      );
      if (records.length === 0) continue;
      const started = performance.now();
      const { events, deadLetters } = await decode(records);
      await retryUntilStopping(
        'storage write',
        async () => {
          await store.insertDeadLetters(deadLetters);
          written += await store.insertEvents(events);
          onStored?.(events);
        },
        logger,
        () => stopping,
        'error',
      );
      await retryUntilStopping(
        'storage writer commit',
        () => consumer.commit(),
        logger,
        () => stopping,
      );
      // A short batch means the writer is keeping up: rest as long as that write took (at most
      // MAX_REST_MS), so a steady stream gathers into fewer, larger writes instead of the writer spending
      // all its time on each write's fixed costs. A full batch (a backlog) goes on at once.
      if (records.length < maxBatch) {
        await sleep(Math.min(MAX_REST_MS, performance.now() - started), undefined, {
          signal: stopped.signal,
        }).catch(() => undefined);
      }
    }
  })();

  return {
    get written() {
      return written;
    },
    async stop() {
      stopping = true;
      stopped.abort();
      try {
        await loop;
      } catch (err) {
        logger.warn({ err }, 'storage writer stopped with an unwritten batch; it will be re-read on restart');
      }
      await consumer.close();
    },
  };
}

/** Records decoded between two turns of the event loop (a few ms of JSON.parse). */
const DECODE_YIELD_EVERY = 1_000;

/** Decodes a batch, giving way to the event loop now and then: in `tracklane start` this thread also answers
 * the collector's requests, which a 10,000-record batch would otherwise stall for its whole length. */
async function decode(records: LogRecord[]): Promise<{ events: TrackedEvent[]; deadLetters: DeadLetter[] }> {
  const events: TrackedEvent[] = [];
  const deadLetters: DeadLetter[] = [];
  for (let i = 0; i < records.length; i++) {
    if (i > 0 && i % DECODE_YIELD_EVERY === 0) await nextTurn();
    const record = records[i]!;
    try {
      events.push(JSON.parse(record.value.toString('utf8')) as TrackedEvent);
    } catch (err) {
      // Only a bug upstream can put non-JSON on the topic; keep the bytes for inspection and move on.
      deadLetters.push({
        id: `${record.topic}/${record.partition}/${record.offset}`,
        stage: 'storage',
        reason: `undecodable record: ${(err as Error).message}`,
        payload: record.value.toString('base64'),
        messageId: record.headers['message-id'] ?? null,
        sourceId: record.headers.source ?? null,
        failedAt: Date.now(),
      });
    }
  }
  return { events, deadLetters };
}
