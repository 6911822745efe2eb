import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { EmbeddedLog } from '@tracklane/log';
import { DuckDbStore } from '@tracklane/storage';
import { makeTempDir, waitFor } from '@tracklane/test-utils';
import {
  BUILTIN_GROUP,
  BUILTIN_PIPELINES,
  type RunningPipelines,
  startBuiltinPipelines,
  startWorkerPool,
} from '../src/index.ts';
import { generateEvents, toRecord } from './fixture.ts';
import { openLog } from './helpers.ts';

const PARTITIONS = 6;
const events = generateEvents(6000);
const records = events.map(toRecord);

type Tables = Record<string, string[]>;

async function dump(store: DuckDbStore): Promise<Tables> {
  const out: Tables = {};
  for (const { name } of BUILTIN_PIPELINES) {
    const result = await store.query(`SELECT * EXCLUDE (version) FROM ${name}`, { maxRows: 100_000 });
    out[name] = result.rows.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

interface Run {
  log: EmbeddedLog;
  store: DuckDbStore;
  dataDir: string;
  /** Appends the next `n` records (all that are left by default). */
  append(n?: number): Promise<void>;
  finish(running: { lag(): Promise<number>; stop(): Promise<void> }): Promise<Tables>;
}

/** A fresh data dir with the events topic; records are appended in the fixture's order. */
async function setUp(): Promise<Run & { remove(): Promise<void> }> {
  const dir = await makeTempDir();
  const log = await openLog(`${dir.path}/log`);
  const store = await DuckDbStore.open(`${dir.path}/tracklane.duckdb`);
  await store.migrate();
  await log.ensureTopic('events', { partitions: PARTITIONS });
  let next = 0;
  return {
    log,
    store,
    dataDir: dir.path,
    async append(n = records.length - next) {
      const batch = records.slice(next, next + n);
      next += batch.length;
      if (batch.length > 0) await log.append('events', batch);
    },
    async finish(running) {
      await waitFor(async () => (await running.lag()) === 0, {
        timeoutMs: 60_000,
        what: 'pipelines to drain',
      });
      await running.stop();
      return dump(store);
    },
    async remove() {
      await store.close();
      await log.close();
      await dir.remove();
    },
  };
}

async function start(run: Run, workers: number): Promise<RunningPipelines> {
  return startBuiltinPipelines({
    log: run.log,
    store: run.store,
    dataDir: run.dataDir,
    exact: true,
    workers,
    checkpointIntervalMs: 50,
  });
}

function assertSameTables(actual: Tables, expected: Tables): void {
  for (const name of Object.keys(expected)) {
    assert.ok(expected[name]!.length > 0, `${name} has rows`);
    assert.deepEqual(actual[name], expected[name], name);
  }
}

describe('stream worker threads', { timeout: 240_000 }, () => {
  let clean: Tables;

  before(async () => {
    // The reference: one engine on the main thread, all records appended before it starts.
    const run = await setUp();
    await run.append();
    clean = await run.finish(await start(run, 0));
    await run.remove();
  });

  for (const workers of [1, 3]) {
    it(`gives the same tables with ${workers} worker thread(s) as one engine on the main thread`, async () => {
      const run = await setUp();
      await run.append();
      const running = await start(run, workers);
      assert.equal(running.pool?.threads.length, workers);
      const tables = await run.finish(running);
      await run.remove();
      assertSameTables(tables, clean);
    });
  }

  it('rebalances partitions onto a worker added mid-stream, and the tables still equal a clean run', async () => {
    const run = await setUp();
    await run.append(2000);
    const running = await start(run, 1);
    const pool = running.pool!;
    await waitFor(() => running.stats().records > 500, { what: 'the first worker to make progress' });
    await pool.addWorker();
    await run.append(2000);
    await waitFor(
      () => {
        const [a, b] = pool.workerStats();
        return (
          a !== undefined &&
          b !== undefined &&
          a.partitions.length > 0 &&
          b.partitions.length > 0 &&
          a.partitions.length + b.partitions.length === PARTITIONS
        );
      },
      { timeoutMs: 30_000, what: 'both workers to own partitions' },
    );
    const [a, b] = pool.workerStats();
    assert.deepEqual([...a!.partitions, ...b!.partitions].sort(), [0, 1, 2, 3, 4, 5]);
    await pool.removeWorker();
    await run.append();
    const tables = await run.finish(running);
    await run.remove();
    assertSameTables(tables, clean);
  });

  it('takes over the partitions of a terminated worker thread without loss or double counting', async () => {
    const run = await setUp();
    await run.append(1500);
    const running = await start(run, 2);
    const pool = running.pool!;
    await waitFor(async () => (await running.lag()) === 0, {
      timeoutMs: 60_000,
      what: 'a checkpoint of everything so far',
    });
    const victim = pool.threads[0]!;
    await run.append(1500);
    await victim.terminate();
    await run.append(1500);
    // The survivor owns every partition until the replacement thread starts.
    await waitFor(() => pool.threads.length === 2 && !pool.threads.includes(victim), {
      timeoutMs: 30_000,
      what: 'the dead worker to be replaced',
    });
    await run.append();
    const tables = await run.finish(running);
    await run.remove();
    assertSameTables(tables, clean);
  });

  it('takes over the partitions of a worker thread that throws, and replaces it', async () => {
    const run = await setUp();
    await run.append(1500);
    const pool = await startWorkerPool({
      log: run.log,
      store: run.store,
      module: new URL('./crashing-builtins.ts', import.meta.url),
      exportName: 'crashingBuiltins',
      data: { exact: true, crashWorker: 0, crashAfterRecords: 300, crashAfterMs: 3000 },
      workers: 2,
      group: BUILTIN_GROUP,
      stateDir: `${run.dataDir}/stream`,
      checkpointIntervalMs: 50,
      restartDelayMs: 200,
    });
    let tables: Tables;
    try {
      // Records keep coming in small steps until worker 0 dies mid-stream. Under load it can die before
      // the pool has even finished starting worker 1, so the wait is on the crash count, not on a thread.
      await waitFor(
        async () => {
          if (pool.crashes === 0) await run.append(50);
          return pool.crashes === 1;
        },
        { timeoutMs: 60_000, what: 'worker 0 to die of its uncaught error' },
      );
      await run.append();
      await waitFor(() => pool.threads.length === 2, { timeoutMs: 30_000, what: 'a replacement worker' });
      tables = await run.finish(pool);
    } finally {
      // A failed wait must not leave worker threads running: the test file would never exit.
      await pool.stop();
      await run.remove();
    }
    assertSameTables(tables, clean);
    assert.equal(pool.crashes, 1, 'the replacement did not crash');
  });
});
