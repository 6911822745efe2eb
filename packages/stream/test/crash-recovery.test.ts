import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DuckDbStore } from '@tracklane/storage';
import { makeTempDir, waitFor } from '@tracklane/test-utils';
import { BUILTIN_PIPELINES, startBuiltinPipelines } from '../src/index.ts';
import { generateEvents, random, toRecord } from './fixture.ts';
import { openLog } from './helpers.ts';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const KILLS = 20;

function startChild(dir: string, workers: number): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(workers)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  return { child, output: () => out };
}

async function tables(path: string): Promise<Record<string, string[]>> {
  const store = await DuckDbStore.open(path);
  try {
    const out: Record<string, string[]> = {};
    for (const p of BUILTIN_PIPELINES) {
      const result = await store.query(`SELECT * EXCLUDE (version) FROM ${p.name}`, { maxRows: 1_000_000 });
      out[p.name] = result.rows.map((r) => JSON.stringify(r)).sort();
    }
    return out;
  } finally {
    await store.close();
  }
}

/**
 * Appends the events in `kills` chunks; after each, starts a processor (in `workers` worker threads, or
 * on its main thread) and kills it with SIGKILL at a random moment; then compares every table with an
 * uninterrupted in-process run.
 */
async function crashLoop(kills: number, workers: number): Promise<void> {
  await using dir = await makeTempDir();
  const events = generateEvents(KILLS * 600, 40, 11);
  const chunk = Math.ceil(events.length / kills);
  const rand = random(3);

  // Clean run, in process, never interrupted.
  const cleanLog = await openLog(`${dir.path}/clean/log`);
  const cleanStore = await DuckDbStore.open(`${dir.path}/clean/tracklane.duckdb`);
  await cleanStore.migrate();
  await cleanLog.ensureTopic('events', { partitions: 3 });
  await cleanLog.append('events', events.map(toRecord));
  const clean = await startBuiltinPipelines({
    log: cleanLog,
    store: cleanStore,
    dataDir: `${dir.path}/clean`,
    exact: true,
    partitions: 3,
  });
  await waitFor(async () => (await clean.lag()) === 0, { timeoutMs: 30_000, what: 'clean run' });
  await clean.stop();
  await cleanStore.close();
  await cleanLog.close();

  // The same events arrive in chunks while a processor is killed with SIGKILL at random moments.
  const crashDir = `${dir.path}/crash`;
  let killedMidWork = 0;
  for (let i = 0; i < kills; i++) {
    const log = await openLog(`${crashDir}/log`);
    await log.ensureTopic('events', { partitions: 3 });
    await log.append('events', events.slice(i * chunk, (i + 1) * chunk).map(toRecord));
    await log.close();
    const { child, output } = startChild(crashDir, workers);
    await waitFor(() => output().includes('ready'), { timeoutMs: 20_000, what: 'child ready' });
    await new Promise((r) => setTimeout(r, rand() * 150));
    if (!output().includes('drained')) killedMidWork++;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  // Most kills must interrupt real work, or this would only test clean restarts.
  assert.ok(
    killedMidWork >= kills / 2,
    `only ${killedMidWork} of ${kills} kills landed before the child caught up`,
  );
  const { child, output } = startChild(crashDir, workers);
  await waitFor(() => output().includes('drained'), { timeoutMs: 30_000, what: 'child drained' });
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);

  const expected = await tables(`${dir.path}/clean/tracklane.duckdb`);
  const actual = await tables(`${crashDir}/tracklane.duckdb`);
  for (const name of Object.keys(expected)) {
    assert.ok(expected[name]!.length > 0, name);
    assert.deepEqual(actual[name], expected[name], name);
  }
}

describe('crash recovery', () => {
  it(
    `gives the same tables as a clean run after ${KILLS} kill -9s at random points`,
    {
      timeout: 120_000,
    },
    () => crashLoop(KILLS, 0),
  );

  it(
    'gives the same tables as a clean run after kill -9s of a processor running 2 worker threads',
    {
      timeout: 180_000,
    },
    () => crashLoop(6, 2),
  );
});
