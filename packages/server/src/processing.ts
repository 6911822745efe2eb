import { DEAD_LETTER_TOPIC, EVENTS_TOPIC } from '@tracklane/collector';
import type { TrackedEvent } from '@tracklane/core';
import type { Log } from '@tracklane/log';
import type { Store } from '@tracklane/storage';
import {
  BUILTIN_GROUP,
  defaultStreamWorkers,
  type RunningPipelines,
  startBuiltinPipelines,
} from '@tracklane/stream';
import type { Logger } from 'pino';
import { DEAD_LETTER_GROUP, type DeadLetterWriter, startDeadLetterWriter } from './dead-letter-writer.ts';
import { applyRecordedErasures } from './erasure.ts';
import type { WatchedGroup } from './http/pipeline-health-route.ts';
import { STORAGE_GROUP, type StorageWriter, startStorageWriter } from './storage-writer.ts';

export interface Processing {
  writer: StorageWriter;
  /** The consumer groups this runs, whose lag the dashboard shows. */
  groups: WatchedGroup[];
  /** Pipelines, then dead letters, then the storage writer: each finishes its batch and commits. */
  stop(): Promise<void>;
}

export interface ProcessingOptions {
  log: Log;
  store: Store;
  logger: Logger;
  /** Where the built-in pipelines keep their state (`<dataDir>/stream/`). */
  dataDir: string;
  pipelines: boolean;
  /** Worker threads for the built-in pipelines; 0 runs them on this thread. Default `defaultStreamWorkers()`. */
  streamWorkers?: number | undefined;
  /**
   * Other processes with their own data dirs run this too (`tracklane processor`): the built-in pipelines
   * then run in one of them at a time (see `startSingleActive` in @tracklane/stream).
   */
  shared?: boolean;
  /** With `shared`: what a processor that does not run the built-in pipelines does. Default 'cold'. */
  standby?: 'cold' | 'warm';
  /** Ids of people erased before this start, so live views can drop them. */
  onErased?: (ids: Iterable<string>) => void;
  /** Called with each stored batch; must not throw or block. */
  onStored?: (events: TrackedEvent[]) => void;
}

/**
 * The processing half of the pipeline, the same in `tracklane start` and `tracklane processor`: the storage
 * writer, the dead-letter writer and the built-in stream pipelines, each a consumer group, so any number
 * of processes running this share the partitions.
 */
export async function startProcessing(options: ProcessingOptions): Promise<Processing> {
  const { log, store, logger } = options;
  let writer: StorageWriter | undefined;
  let deadLetterWriter: DeadLetterWriter | undefined;
  let pipelines: RunningPipelines | undefined;
  try {
    // Tombstones first, so that events of erased people still in the log are skipped, even by a new store.
    const erased = await applyRecordedErasures(log, store);
    options.onErased?.(erased);
    writer = await startStorageWriter(log, store, logger, options.onStored);
    deadLetterWriter = await startDeadLetterWriter(log, store, logger);
    if (options.pipelines) {
      pipelines = await startBuiltinPipelines({
        log,
        store,
        dataDir: options.dataDir,
        workers: options.streamWorkers ?? defaultStreamWorkers(),
        singleActive: options.shared ?? false,
        standby: options.standby ?? 'cold',
        logger: logger.child({ component: 'stream' }),
      });
    }
  } catch (err) {
    await pipelines?.stop();
    await deadLetterWriter?.stop();
    await writer?.stop();
    throw err;
  }
  const activeWriter = writer;
  const activeDeadLetterWriter = deadLetterWriter;
  const activePipelines = pipelines;
  return {
    writer: activeWriter,
    groups: [
      { group: STORAGE_GROUP, topic: EVENTS_TOPIC },
      { group: DEAD_LETTER_GROUP, topic: DEAD_LETTER_TOPIC },
      ...(activePipelines === undefined ? [] : [{ group: BUILTIN_GROUP, topic: EVENTS_TOPIC }]),
    ],
    async stop() {
      await activePipelines?.stop();
      await activeDeadLetterWriter.stop();
      await activeWriter.stop();
    },
  };
}
