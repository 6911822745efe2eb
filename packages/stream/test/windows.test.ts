import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeTempDir } from '@tracklane/test-utils';
import Database from 'better-sqlite3';
import {
  aggregates,
  count,
  decodeJson,
  from,
  hopping,
  type LateEvent,
  max,
  session,
  startEngine,
  tumbling,
  type WindowResult,
} from '../src/index.ts';
import { drain, listSink, openLog, upsertSink } from './helpers.ts';

interface Ev {
  id: string;
  user: string;
  t: number;
  v?: number;
}

const MIN = 60_000;
const enc = (e: Ev) => ({ key: e.user, value: Buffer.from(JSON.stringify(e)) });

describe('event-time windows', () => {
  it('puts out-of-order events in their windows, counts duplicates once and sends late ones to the side output', async () => {
    await using dir = await makeTempDir();
    const log = await openLog(`${dir.path}/log`);
    await log.ensureTopic('in', { partitions: 1 });
    const late = listSink<LateEvent>();
    const out = upsertSink<WindowResult<string, { n: number; top: number | null }>>(
      (r) => `${r.key}@${r.window.start}`,
    );
    const pipeline = from(log, 'in', decodeJson<Ev>, { eventTime: (e) => e.t, outOfOrderness: '30s' })
      .dedupe((e) => e.id)
      .lateTo(late)
      .keyBy((e) => e.user)
      .window(tumbling('1m'), { allowedLateness: '90s' })
      .aggregate(aggregates({ n: count<Ev>(), top: max((e: Ev) => e.v) }))
      .to(out, { name: 'counts' });
    const events: Ev[] = [
      { id: 'a', user: 'u', t: 0 * MIN + 10_000, v: 1 },
      { id: 'b', user: 'u', t: 1 * MIN + 5_000, v: 2 },
      { id: 'c', user: 'u', t: 0 * MIN + 50_000, v: 3 }, // out of order, within 30 s: window 0
      { id: 'a', user: 'u', t: 0 * MIN + 10_000, v: 1 }, // duplicate
      { id: 'd', user: 'u', t: 3 * MIN + 40_000, v: 4 }, // watermark -> 3m10s: window 0 closed, 1 within lateness
      { id: 'e', user: 'u', t: 1 * MIN + 59_000, v: 5 }, // late but within allowed lateness: window 1
      { id: 'f', user: 'u', t: 0 * MIN + 59_000, v: 6 }, // window 0 ends 1m, +90s lateness < 3m10s: late
      { id: 'c', user: 'u', t: 0 * MIN + 50_000, v: 3 }, // duplicate that is also late
    ];
    await log.append('in', events.map(enc));
    const engine = await startEngine({
      log,
      pipelines: [pipeline],
      group: 'g',
      stateDir: `${dir.path}/state`,
    });
    await drain(engine);
    await engine.stop();
    await log.close();
    const rows = Object.fromEntries([...out.rows].map(([k, r]) => [k, r.value]));
    assert.deepEqual(rows, {
      'u@0': { n: 2, top: 3 },
      'u@60000': { n: 2, top: 5 },
      'u@180000': { n: 1, top: 4 },
    });
    assert.deepEqual(
      late.items.map((l) => [(l.value as Ev).id, l.reason]),
      [['f', 'window closed']],
    );
    // Window 0 closed for good (watermark 3m10s >= 1m + 90s lateness): its stored total is gone.
    const db = new Database(`${dir.path}/state/g.sqlite`, { readonly: true });
    const kept = db.prepare("SELECT wkey FROM totals WHERE pipeline = 'counts' ORDER BY closes").all();
    db.close();
    assert.deepEqual(kept, [{ wkey: 'u\u000160000' }, { wkey: 'u\u0001180000' }]);
  });

  it('merges session windows when a late event bridges two sessions', async () => {
    await using dir = await makeTempDir();
    const log = await openLog(`${dir.path}/log`);
    await log.ensureTopic('in', { partitions: 1 });
    const out = listSink<WindowResult<string, number>>();
    const pipeline = from(log, 'in', decodeJson<Ev>, { eventTime: (e) => e.t, outOfOrderness: '20m' })
      .keyBy((e) => e.user)
      .window(session('10m'))
      .aggregate(count())
      .to(out, { name: 'sessions' });
    const at = (id: string, m: number): Ev => ({ id, user: 'u', t: m * MIN });
    // 0,5 | 18,20 would be two sessions; 12 bridges them (5+10 >= 12, 12+10 >= 18) into one: 0..20.
    await log.append('in', [at('1', 0), at('2', 5), at('3', 18), at('4', 20), at('5', 12)].map(enc));
    // Moves the watermark far enough to close the merged session (20 + 10 gap < 100 - 20).
    await log.append('in', [at('6', 100)].map(enc));
    const engine = await startEngine({
      log,
      pipelines: [pipeline],
      group: 'g',
      stateDir: `${dir.path}/state`,
    });
    await drain(engine);
    await engine.stop();
    await log.close();
    assert.deepEqual(
      out.items.map((r) => [r.window.start / MIN, r.window.end / MIN, r.value]),
      [[0, 30, 5]],
    );
  });

  it('adds an event to every hopping window that contains it', async () => {
    await using dir = await makeTempDir();
    const log = await openLog(`${dir.path}/log`);
    await log.ensureTopic('in', { partitions: 2 });
    const out = upsertSink<WindowResult<string, number>>((r) => `${r.window.start}`);
    const pipeline = from(log, 'in', decodeJson<Ev>, { eventTime: (e) => e.t })
      .keyBy(() => 'all')
      .window(hopping('2m', '1m'))
      .aggregate(count())
      .to(out, { name: 'hops' });
    await log.append(
      'in',
      [
        { id: '1', user: 'a', t: 30_000 },
        { id: '2', user: 'b', t: 90_000 },
        { id: '3', user: 'c', t: 150_000 },
      ].map(enc),
    );
    const engine = await startEngine({
      log,
      pipelines: [pipeline],
      group: 'g',
      stateDir: `${dir.path}/state`,
    });
    await drain(engine);
    await engine.stop();
    await log.close();
    const counts = Object.fromEntries([...out.rows].map(([k, r]) => [Number(k) / MIN, r.value]));
    assert.deepEqual(counts, { '-1': 1, 0: 2, 1: 2, 2: 1 });
  });

  it('appends late events to the late-events topic by default, with why and how late', async () => {
    await using dir = await makeTempDir();
    const log = await openLog(`${dir.path}/log`);
    await log.ensureTopic('in', { partitions: 1 });
    const pipeline = from(log, 'in', decodeJson<Ev>, { eventTime: (e) => e.t })
      .keyBy((e) => e.user)
      .window(tumbling('1m'))
      .aggregate(count())
      .to(
        upsertSink((r) => String(r.window.start)),
        { name: 'strict' },
      );
    await log.append(
      'in',
      [
        { id: 'a', user: 'u', t: 5 * MIN },
        { id: 'b', user: 'u', t: 2 * MIN },
      ].map(enc),
    );
    const engine = await startEngine({
      log,
      pipelines: [pipeline],
      group: 'g',
      stateDir: `${dir.path}/state`,
    });
    await drain(engine);
    await engine.stop();
    const late = await log.read('late-events', 0, 0);
    await log.close();
    assert.equal(late.length, 1);
    assert.equal(JSON.parse(late[0]!.value.toString()).id, 'b');
    assert.deepEqual(
      { ...late[0]!.headers },
      {
        id: 'late-events/strict/in/0/1/0',
        pipeline: 'strict',
        reason: 'window closed',
        'event-time': String(2 * MIN),
        watermark: String(5 * MIN),
        'source-topic': 'in',
        'source-partition': '0',
        'source-offset': '1',
      },
    );
  });
});
