import { join } from 'node:path';
import type { Log } from '@tracklane/log';
import type { Store } from '@tracklane/storage';
import { type EngineStats, startEngine } from '../runtime/engine.ts';
import type { Logger } from '../runtime/logger.ts';
import { type StreamWorkerPool, startWorkerPool } from '../workers/worker-pool.ts';
import type { BuiltinWorkerData } from './builtin-factory.ts';
import { eventCountsMinute } from './event-counts-minute.ts';
import { EVENTS_TOPIC, type Projection } from './projection.ts';
import { sessions } from './sessions.ts';
import { startSingleActive } from './single-active.ts';
import { uniqueUsersDay, uniqueUsersHour } from './unique-users.ts';
import { userProfiles } from './user-profiles.ts';
import { warmStandby } from './warm-standby.ts';

export const BUILTIN_PIPELINES: readonly Projection[] = [
  eventCountsMinute,
  uniqueUsersHour,
  uniqueUsersDay,
  sessions,
  userProfiles,
];

export const BUILTIN_GROUP = 'tracklane-builtin';

export interface BuiltinPipelinesOptions {
  log: Log;
  store: Store;
  /** Tracklane's data dir; state goes to `<dataDir>/stream/`. */
  dataDir: string;
  logger?: Logger;
  /** Fill the exact columns of the unique-user tables (memory grows with users per day). Default false. */
  exact?: boolean;
  /** Partitions of the events topic if it has to be created here. Default 4. */
  partitions?: number;
  /** Checkpoint interval, the bound on how stale the tables are. Default 500 ms. */
  checkpointIntervalMs?: number;
  /**
   * Worker threads to run the pipelines in, sharing the partitions through the consumer group (see
   * `StreamWorkerPool`). Default 0: one engine on the calling thread.
   */
  workers?: number;
  /**
   * Set when several processes with separate data dirs run the pipelines (`tracklane processor`): only
   * one of them runs them at a time, the others stand by (see `startSingleActive`). Default false.
   */
  singleActive?: boolean;
  /** See `EngineOptions.versionBase`. Default 0. */
  versionBase?: number;
  /**
   * With `singleActive`, what a process that does not lead does: 'cold' waits, and on taking over resumes
   * from its own checkpoint (from the start of the log if it never led); 'warm' mirrors the pipelines into
   * shadow tables and takes over by swapping them in (`warmStandby`), at the cost of running the pipelines
   * and writing their tables twice. Default 'cold'.
   */
  standby?: 'cold' | 'warm';
  /** Consumer group. Default BUILTIN_GROUP (a warm standby uses its own). */
  group?: string;
  /** Appended to every table name. Default '' (a warm standby's shadow tables). */
  tableSuffix?: string;
  /** Where state goes under `dataDir`. Default 'stream'. */
  stateSubdir?: string;
}

export interface RunningPipelines {
  /** A warm standby's mirror of the pipelines, while it runs (see `standby` in the options). */
  readonly standby?: RunningPipelines | undefined;
  /** Events appended to the events topic but not yet reflected in the tables. */
  lag(): Promise<number>;
  stats(): EngineStats;
  stop(): Promise<void>;
  /** The worker threads, when started with `workers` (add or remove workers at runtime through it). */
  pool?: StreamWorkerPool;
}

export function findBuiltin(name: string): Projection | undefined {
  return BUILTIN_PIPELINES.find((p) => p.name === name);
}

/**
 * Runs every built-in projection in one engine over the events topic (each record is read and decoded
 * once for all five). Called by `tracklane start`, and by `tracklane processor` with `singleActive`.
 */
export async function startBuiltinPipelines(options: BuiltinPipelinesOptions): Promise<RunningPipelines> {
  const { log, store, dataDir } = options;
  await log.ensureTopic(EVENTS_TOPIC, { partitions: options.partitions ?? 4 });
  if (options.singleActive === true) {
    return startSingleActive({
      log,
      store,
      group: BUILTIN_GROUP,
      topic: EVENTS_TOPIC,
      tables: BUILTIN_PIPELINES.map((p) => p.table),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      start: (versionBase) => startBuiltinPipelines({ ...options, singleActive: false, versionBase }),
      ...(options.standby === 'warm'
        ? {
            standby: await warmStandby(options, {
              pipelines: BUILTIN_PIPELINES,
              group: BUILTIN_GROUP,
              start: startBuiltinPipelines,
            }),
          }
        : {}),
    });
  }
  const exact = options.exact ?? false;
  const group = options.group ?? BUILTIN_GROUP;
  const tableSuffix = options.tableSuffix ?? '';
  // What the engine gets, on this thread or in each worker.
  const engineOptions = {
    log,
    group,
    stateDir: join(dataDir, options.stateSubdir ?? 'stream'),
    checkpointIntervalMs: options.checkpointIntervalMs ?? 500,
    ...(options.versionBase === undefined ? {} : { versionBase: options.versionBase }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  };
  if ((options.workers ?? 0) > 0) {
    const pool = await startWorkerPool<BuiltinWorkerData>({
      ...engineOptions,
      store,
      module: new URL('./builtin-factory.ts', import.meta.url),
      exportName: 'builtinPipelines',
      data: { exact, tableSuffix },
      workers: options.workers!,
    });
    return { lag: () => pool.lag(), stats: () => pool.stats(), stop: () => pool.stop(), pool };
  }
  const pipelines = BUILTIN_PIPELINES.map((p) =>
    p.build({ log, store, tableName: `${p.name}${tableSuffix}`, exact }),
  );
  const engine = await startEngine({ ...engineOptions, pipelines });
  return { lag: () => engine.lag(), stats: () => engine.stats(), stop: () => engine.stop() };
}
