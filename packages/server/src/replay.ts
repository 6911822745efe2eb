import { join, resolve } from 'node:path';
import { isTracklaneError, TracklaneError } from '@tracklane/core';
import { EmbeddedLog } from '@tracklane/log';
import { DuckDbStore } from '@tracklane/storage';
import { type ReplayProgress, type ReplayResult, replayPipeline } from '@tracklane/stream';
import { readRecordedErasures } from './erasure.ts';

export interface ReplayProjectionOptions {
  dataDir: string;
  pipeline: string;
  /** Offset on every partition, or an event-time instant. Default: the start of the log. */
  from?: number | Date;
  onProgress?: (progress: ReplayProgress) => void;
}

/**
 * `tracklane replay`: rebuilds one built-in projection from the log into a fresh table and swaps it in.
 * Works on a stopped data dir: the embedded log and DuckDB each belong to one process at a time.
 */
export async function replayProjection(options: ReplayProjectionOptions): Promise<ReplayResult> {
  const dataDir = resolve(options.dataDir);
  let log: EmbeddedLog;
  try {
    log = await EmbeddedLog.open(join(dataDir, 'log'));
  } catch (err) {
    if (isTracklaneError(err) && err.code === 'E_LOG_LOCKED') {
      throw new TracklaneError(
        'E_LOG_LOCKED',
        `${dataDir} is in use by a running tracklane: stop it first (replay needs the log and the store to itself)`,
        { cause: err },
      );
    }
    throw err;
  }
  try {
    const store = await DuckDbStore.open(join(dataDir, 'tracklane.duckdb'));
    try {
      const result = await replayPipeline({
        log,
        store,
        pipeline: options.pipeline,
        ...(options.from === undefined ? {} : { from: options.from }),
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      });
      // The log is append-only, so erased people's events are still in it and the rebuilt table has their
      // rows again: re-apply every recorded erasure (idempotent) before anyone reads the new table.
      for (const erasure of await readRecordedErasures(log))
        await store.eraseUser(erasure.userId, erasure.ids);
      return result;
    } finally {
      await store.close();
    }
  } finally {
    await log.close();
  }
}
