import { type Log, partitionLag } from '@tracklane/log';
import type { Store, TableDefinition } from '@tracklane/storage';
import type { EngineStats } from '../runtime/engine.ts';
import { Leadership } from '../runtime/leadership.ts';
import { type Logger, silentLogger } from '../runtime/logger.ts';
import type { RunningPipelines } from './builtin.ts';

/**
 * How far above every version already written a new leader starts. An old leader that is cut off but
 * still running until its next heartbeat keeps versioning rows by its own offset sum; it would need to
 * process this many more records to outrank the new leader.
 */
export const LEADER_VERSION_STEP = 2 ** 32;

export const LEADERSHIP_TOPIC = 'tracklane-leadership';

export interface SingleActiveOptions {
  log: Log;
  store: Store;
  /** The pipelines' consumer group; the leadership group is `<group>-leader`. */
  group: string;
  /** The pipelines' source topic, for the standby's lag. */
  topic: string;
  /** The tables the pipelines write, read for the highest version already written. */
  tables: readonly TableDefinition[];
  logger?: Logger;
  /** Starts the pipelines; every row they write must be versioned from `versionBase` up. */
  start(versionBase: number): Promise<RunningPipelines>;
  /** Set for a warm standby (see `WarmStandby`); without it a standby only waits. */
  standby?: WarmStandby;
}

/**
 * What a warm standby needs from the pipelines it mirrors: it runs them in its own consumer group (so it
 * reads every partition), with its own state, into its own shadow tables, which are always a complete
 * result up to its position. Taking over is then a table swap and a state handover, not a replay.
 */
export interface WarmStandby {
  /** The shadow tables, read for versions before a takeover. */
  tables: readonly TableDefinition[];
  /** Whether standby state is there to resume (else `start` begins from an empty state and tables). */
  resumable(): Promise<boolean>;
  /** Starts the mirror; `fresh` drops any shadow tables and standby state first. */
  start(fresh: boolean): Promise<RunningPipelines>;
  /** With the mirror stopped: swaps the shadow tables in and makes its state the leader's. */
  promote(): Promise<void>;
}

const IDLE_STATS: EngineStats = { records: 0, deadLettered: 0, retried: 0, checkpoints: 0, partitions: [] };

/**
 * Runs pipelines in one process at a time among several that each keep pipeline state in their own data
 * dir (`tracklane processor` on several hosts).
 *
 * Why not split the partitions between them, as the storage writer does: event counts, unique users and
 * profiles are keyed across the events topic's partitions (which follow the visitor). A process owning
 * half the partitions holds half of a minute's count in its own state, and two such processes overwrite
 * each other's rows. Within one process the engines share one state file, which merges them; across
 * processes that would need the keys shuffled through the log first. So one process leads (see
 * `Leadership`) and uses all its cores through worker threads; the others stand by.
 *
 * A process that takes over resumes from its own checkpoint: from the start of the log if it never led,
 * or from where it stopped leading. Rows written by the previous leader carry versions from that leader's
 * offsets, which this process's own offset sum is not comparable to, so it starts its versions above the
 * highest one in the tables: its rows replace the old ones as it catches up, and once it has, every table
 * equals a run from scratch.
 */
export async function startSingleActive(options: SingleActiveOptions): Promise<RunningPipelines> {
  const logger = options.logger ?? silentLogger;
  const { standby } = options;
  let running: RunningPipelines | undefined;
  let closing = false;
  // The mirror starts before joining, so that a lead won at once finds it running and promotes it.
  let mirror = standby === undefined ? undefined : await standby.start(!(await standby.resumable()));
  const leadership = await Leadership.join({
    log: options.log,
    topic: LEADERSHIP_TOPIC,
    group: `${options.group}-leader`,
    logger,
    async onChange(leading) {
      if (leading) {
        // Above the old leader's rows and the mirror's, whichever end up in the tables.
        const tables = [...options.tables, ...(standby?.tables ?? [])];
        const versionBase = (await highestVersion(options.store, tables)) + LEADER_VERSION_STEP;
        if (mirror !== undefined) {
          const stopping = mirror;
          mirror = undefined;
          await stopping.stop();
          await standby!.promote();
          logger.info({ group: options.group }, 'promoted the warm standby');
        }
        running = await options.start(versionBase);
        logger.info({ group: options.group, versionBase }, 'running the pipelines');
      } else {
        const stopping = running;
        running = undefined;
        await stopping?.stop();
        // The leader's state matches the real tables, not shadow ones: the mirror starts over.
        if (standby !== undefined && !closing) mirror = await standby.start(true);
      }
    },
  });
  return {
    async lag() {
      if (running !== undefined) return running.lag();
      return groupLag(options.log, options.group, options.topic);
    },
    stats: () => running?.stats() ?? IDLE_STATS,
    async stop() {
      closing = true;
      await leadership.close();
      const stopping = mirror;
      mirror = undefined;
      await stopping?.stop();
    },
    get pool() {
      return running?.pool;
    },
    get standby() {
      return mirror;
    },
  };
}

/** The highest version in any of the tables (0 when none has rows yet). */
async function highestVersion(store: Store, tables: readonly TableDefinition[]): Promise<number> {
  let highest = 0;
  for (const table of tables) {
    if (table.version === undefined) continue;
    // Idempotent, and what the pipelines' sinks do first anyway: the table may not exist yet.
    await store.defineTable(table);
    const result = await store.query(`SELECT max(${table.version}) FROM ${table.name}`);
    const value = result.rows[0]?.[0];
    if (value !== null && value !== undefined) highest = Math.max(highest, Number(value));
  }
  return highest;
}

/** Records of the topic past the group's committed offsets: how far behind the leader is. */
async function groupLag(log: Log, group: string, topic: string): Promise<number> {
  const [ends, committed] = await Promise.all([log.offsets(topic), log.committedOffsets(group, topic)]);
  return partitionLag(ends, committed).reduce((n, p) => n + p.lag, 0);
}
