import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuiltinPipelinesOptions, RunningPipelines } from './builtin.ts';
import type { Projection } from './projection.ts';
import type { WarmStandby } from './single-active.ts';

export interface WarmStandbyOptions {
  pipelines: readonly Projection[];
  /** The leader's consumer group, after which its state file is named. */
  group: string;
  /** Starts the pipelines with these options (`startBuiltinPipelines`). */
  start(options: BuiltinPipelinesOptions): Promise<RunningPipelines>;
}

const STANDBY_SUBDIR = 'stream-standby';
const LEADER_SUBDIR = 'stream';
/** Written before a promotion moves anything and removed after: found on start, it means one was cut short. */
const PROMOTING = 'stream-promoting';

/**
 * A warm standby of the built-in pipelines for `tracklane processor` (`standby: 'warm'`): this process
 * runs them in its own consumer group `<group>-standby-<id>` (so it reads every partition),
 * with state under `<dataDir>/stream-standby/`, into shadow tables `<name>__standby_<id>`. The id is
 * random, kept in the data dir, so standbys on different hosts never share tables.
 *
 * The shadow tables and the standby state move together (the sinks write inside the state's checkpoint),
 * so they always form a complete result up to the standby's position. Taking over swaps each shadow table
 * in for the real one and renames the standby's state file to the leader's: the new leader resumes from
 * the standby's position, seconds behind, instead of replaying the log from its own old checkpoint.
 *
 * A promotion cut short by a crash leaves the leader state unsure: the next start finds the marker and
 * drops the leader state (the next lead then resumes cold) and starts the standby afresh.
 */
export async function warmStandby(
  options: BuiltinPipelinesOptions,
  { pipelines, group: leaderGroup, start }: WarmStandbyOptions,
): Promise<WarmStandby> {
  const { dataDir, store } = options;
  const id = await standbyId(dataDir);
  const group = `${leaderGroup}-standby-${id}`;
  const suffix = `__standby_${id}`;
  const tables = pipelines.map((p) => ({ ...p.table, name: `${p.name}${suffix}` }));
  const standbyDir = join(dataDir, STANDBY_SUBDIR);
  const leaderDir = join(dataDir, LEADER_SUBDIR);
  const marker = join(dataDir, PROMOTING);
  if (existsSync(marker)) {
    await rm(leaderDir, { recursive: true, force: true });
    await rm(standbyDir, { recursive: true, force: true });
    await rm(marker, { force: true });
  }
  return {
    tables,
    async resumable() {
      return existsSync(join(standbyDir, `${group}.sqlite`));
    },
    async start(fresh) {
      if (fresh) {
        await rm(standbyDir, { recursive: true, force: true });
        for (const table of tables) await store.dropTable(table.name);
      }
      return start({
        ...options,
        singleActive: false,
        standby: 'cold',
        group,
        tableSuffix: suffix,
        stateSubdir: STANDBY_SUBDIR,
        versionBase: 0,
      });
    },
    async promote() {
      await writeFile(marker, '');
      // Both must exist to be swapped: a mirror stopped before it opened its sinks has no shadow tables yet.
      for (const [i, p] of pipelines.entries()) {
        const shadow = tables[i]!;
        await store.defineTable(p.table);
        await store.defineTable(shadow);
        await store.swapTable(shadow.name, p.name);
      }
      await rm(leaderDir, { recursive: true, force: true });
      await mkdir(leaderDir, { recursive: true });
      // The engine names its state file after its group; SQLite removed the WAL when the mirror closed it.
      await rename(join(standbyDir, `${group}.sqlite`), join(leaderDir, `${leaderGroup}.sqlite`));
      await rm(standbyDir, { recursive: true, force: true });
      await rm(marker, { force: true });
    },
  };
}

/** This data dir's standby id: random once, then kept, so that restarts resume the same shadow tables. */
async function standbyId(dataDir: string): Promise<string> {
  const path = join(dataDir, 'standby-id');
  try {
    const id = (await readFile(path, 'utf8')).trim();
    if (/^[0-9a-f]{8}$/.test(id)) return id;
  } catch {
    // None yet.
  }
  const id = randomBytes(4).toString('hex');
  await mkdir(dataDir, { recursive: true });
  await writeFile(path, `${id}\n`);
  return id;
}
