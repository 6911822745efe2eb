import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TrackedEvent } from '@tracklane/core';
import type { EmbeddedLog } from '@tracklane/log';
import { DuckDbStore } from '@tracklane/storage';
import { makeTempDir, type TempDir, waitFor } from '@tracklane/test-utils';
import { type RunningPipelines, startBuiltinPipelines, startSingleActive, versioned } from '../src/index.ts';
import { LEADER_VERSION_STEP } from '../src/pipelines/single-active.ts';
import { generateEvents, toRecord } from './fixture.ts';
import { openLog } from './helpers.ts';

/**
 * `tracklane processor` run several times: every process has its own data dir, so its own pipeline state.
 * Event counts, unique users and profiles are keyed across the events topic's partitions (which follow
 * the visitor), so two processes that each own half of the partitions would each hold half of a minute's
 * count and overwrite each other's rows. The tables must equal SQL over the raw events (the same checks as
 * `builtin-pipelines.test.ts` on one process) while both run, and after one of them is gone.
 */

/** Whether this process runs the pipelines: its engine owns the events topic's partitions. */
const leads = (r: RunningPipelines) => r.stats().partitions.length > 0;

async function rows(store: DuckDbStore, sql: string): Promise<string[]> {
  const result = await store.query(sql, { maxRows: 100_000 });
  return result.rows.map((r) => JSON.stringify(r)).sort();
}

const COUNTS_SQL = `SELECT epoch_ms(date_trunc('minute', timestamp)), type, coalesce(event, name, ''), count(*)::INTEGER
  FROM events GROUP BY ALL`;
const UNIQUE_SQL = `SELECT epoch_ms(date_trunc('hour', timestamp)), count(DISTINCT coalesce(user_id, anonymous_id))::INTEGER
  FROM events GROUP BY ALL`;
const PROFILES_SQL = `SELECT coalesce(user_id, anonymous_id), epoch_ms(min(timestamp)), epoch_ms(max(timestamp))
  FROM events GROUP BY ALL`;

async function assertTablesMatchEvents(store: DuckDbStore): Promise<void> {
  assert.deepEqual(
    await rows(store, 'SELECT epoch_ms(minute), type, event, count FROM event_counts_minute'),
    await rows(store, COUNTS_SQL),
    'event_counts_minute',
  );
  assert.deepEqual(
    await rows(store, 'SELECT epoch_ms(hour), exact FROM unique_users_hour'),
    await rows(store, UNIQUE_SQL),
    'unique_users_hour',
  );
  assert.deepEqual(
    await rows(store, 'SELECT user_id, epoch_ms(first_seen), epoch_ms(last_seen) FROM user_profiles'),
    await rows(store, PROFILES_SQL),
    'user_profiles',
  );
}

/** One `tracklane processor`'s pipelines: its own data dir, the shared log and store. */
function startProcess(
  log: EmbeddedLog,
  store: DuckDbStore,
  dataDir: string,
  standby: 'cold' | 'warm',
): Promise<RunningPipelines> {
  return startBuiltinPipelines({
    log,
    store,
    dataDir,
    exact: true,
    partitions: 4,
    checkpointIntervalMs: 100,
    singleActive: true,
    standby,
  });
}

/** Appends events as collectors do and stores them as the storage writer does, 500 at a time. */
async function appendAndStore(log: EmbeddedLog, store: DuckDbStore, events: TrackedEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 500) {
    const chunk = events.slice(i, i + 500);
    await log.append('events', chunk.map(toRecord));
    await store.insertEvents(chunk);
  }
}

describe('built-in pipelines in several processes with separate data dirs', () => {
  let dir: TempDir;
  let log: EmbeddedLog;
  let store: DuckDbStore;
  const events = generateEvents(6000, 60);
  const third = Math.floor(events.length / 3);
  let first: RunningPipelines;
  let second: RunningPipelines;

  const start = (name: string) => startProcess(log, store, `${dir.path}/${name}`, 'cold');

  async function caughtUp(running: RunningPipelines[]): Promise<void> {
    await waitFor(async () => (await Promise.all(running.map((r) => r.lag()))).every((l) => l === 0), {
      timeoutMs: 60_000,
      what: 'pipelines to catch up',
    });
  }

  before(async () => {
    dir = await makeTempDir();
    log = await openLog(`${dir.path}/log`);
    store = await DuckDbStore.open(`${dir.path}/tracklane.duckdb`);
    await store.migrate();
    await log.ensureTopic('events', { partitions: 4 });
    first = await start('p1');
    second = await start('p2');
  });

  after(async () => {
    await first.stop();
    await second.stop();
    await store.close();
    await log.close();
    await dir.remove();
  });

  it('gives the same tables as one process while both run', async () => {
    await appendAndStore(log, store, events.slice(0, third));
    await caughtUp([first, second]);
    await assertTablesMatchEvents(store);
  });

  it('runs them in one process only, the other stands by', () => {
    assert.deepEqual(
      [first, second].map(leads).sort(),
      [false, true],
      'exactly one process processed records',
    );
  });

  it('gives the same tables after the active one stops and the other takes over from scratch', async () => {
    const [active, standby] = leads(first) ? [first, second] : [second, first];
    await active.stop();
    await appendAndStore(log, store, events.slice(third, 2 * third));
    await waitFor(async () => standby.stats().records > 0, {
      timeoutMs: 30_000,
      what: 'the standby to take over',
    });
    await caughtUp([standby]);
    await assertTablesMatchEvents(store);
    // The first to stop comes back as the standby, with the state it had when it stopped.
    const restarted = await start(active === first ? 'p1' : 'p2');
    if (active === first) first = restarted;
    else second = restarted;
  });

  it('gives the same tables when a process that led before takes over again from its older checkpoint', async () => {
    const [active, standby] = leads(first) ? [first, second] : [second, first];
    assert.equal(standby.stats().records, 0);
    await active.stop();
    await appendAndStore(log, store, events.slice(2 * third));
    await waitFor(async () => standby.stats().records > 0, {
      timeoutMs: 30_000,
      what: 'the standby to take over',
    });
    await caughtUp([standby]);
    await assertTablesMatchEvents(store);
  });
});

describe('built-in pipelines with a warm standby', () => {
  let dir: TempDir;
  let log: EmbeddedLog;
  let store: DuckDbStore;
  const events = generateEvents(6000, 60, 11);
  const half = Math.floor(events.length / 2);
  const running: RunningPipelines[] = [];

  const start = async (name: string) => {
    const started = await startProcess(log, store, `${dir.path}/${name}`, 'warm');
    running.push(started);
    return started;
  };

  before(async () => {
    dir = await makeTempDir();
    log = await openLog(`${dir.path}/log`);
    store = await DuckDbStore.open(`${dir.path}/tracklane.duckdb`);
    await store.migrate();
    await log.ensureTopic('events', { partitions: 4 });
  });

  after(async () => {
    for (const r of running) await r.stop();
    await store.close();
    await log.close();
    await dir.remove();
  });

  it('mirrors the pipelines into shadow tables and takes over from there, not from the start of the log', async () => {
    const first = await start('p1');
    const second = await start('p2');
    await appendAndStore(log, store, events.slice(0, half));
    // The leader's engine owns the partitions. (Not "has processed records": a leader promoted from its
    // mirror after the mirror read everything has processed none itself.)
    await waitFor(async () => leads(first) || leads(second), { timeoutMs: 30_000, what: 'a leader' });
    const [leader, standby] = leads(first) ? [first, second] : [second, first];
    assert.ok(standby.standby !== undefined, 'the standby runs a mirror');
    assert.equal(leader.standby, undefined, 'the leader runs none');
    await waitFor(async () => (await leader.lag()) === 0 && (await standby.standby!.lag()) === 0, {
      timeoutMs: 60_000,
      what: 'leader and mirror to catch up',
    });
    await assertTablesMatchEvents(store);
    const mirrored = await store.query(
      "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'event_counts_minute__standby_%'",
    );
    assert.equal(Number(mirrored.rows[0]![0]), 1, "one shadow table set: the standby's");

    await leader.stop();
    await appendAndStore(log, store, events.slice(half));
    // Promoted (its mirror is gone, its engine owns the partitions), then caught up.
    await waitFor(
      async () =>
        standby.standby === undefined &&
        standby.stats().partitions.length === 4 &&
        (await standby.lag()) === 0,
      { timeoutMs: 60_000, what: 'the standby to take over and catch up' },
    );
    // Warm: the new leader processed at most what came after its mirror's position (the mirror may have
    // read all of it before it was promoted), not the whole log again as a cold takeover does.
    assert.ok(
      standby.stats().records <= events.length - half + 500,
      `the new leader processed ${standby.stats().records} records; ${events.length - half} arrived after the mirror caught up`,
    );
    assert.equal(standby.standby, undefined, 'the promoted process runs no mirror');
    await assertTablesMatchEvents(store);
  });
});

describe('a process taking over the pipelines', () => {
  it('versions its rows above every version the previous leader wrote', async () => {
    const dir = await makeTempDir();
    const log = await openLog(`${dir.path}/log`);
    const store = await DuckDbStore.open(`${dir.path}/tracklane.duckdb`);
    try {
      const table = versioned({
        name: 'taken_over',
        columns: [{ name: 'k', type: 'string' }],
        primaryKey: ['k'],
      });
      await store.defineTable(table);
      await store.upsert('taken_over', [
        { k: 'a', version: 7 },
        { k: 'b', version: 123_456 },
      ]);
      const bases: number[] = [];
      const running = await startSingleActive({
        log,
        store,
        group: 'takeover-test',
        topic: 'events',
        tables: [table],
        async start(versionBase) {
          bases.push(versionBase);
          return {
            lag: async () => 0,
            stats: () => ({ records: 0, deadLettered: 0, retried: 0, checkpoints: 0, partitions: [] }),
            stop: async () => {},
          };
        },
      });
      await waitFor(async () => bases.length > 0, { timeoutMs: 10_000, what: 'the lead' });
      assert.deepEqual(bases, [123_456 + LEADER_VERSION_STEP]);
      await running.stop();
    } finally {
      await store.close();
      await log.close();
      await dir.remove();
    }
  });
});
