import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeTempDir } from '@tracklane/test-utils';
import { count, decodeJson, from, type KeyedResult, startEngine, table } from '../src/index.ts';
import { drain, listSink, openLog, upsertSink } from './helpers.ts';

interface Ev {
  type: 'identify' | 'track';
  userId: string;
  plan?: string;
  broken?: boolean;
  /** Event time (ms), when given. */
  at?: number;
  id?: string;
}

describe('joins and branches', () => {
  it('enriches events with the latest identify traits of their user and routes some to a topic', async () => {
    await using dir = await makeTempDir();
    const log = await openLog(`${dir.path}/log`);
    await log.ensureTopic('events', { partitions: 2 });
    const send = (events: Ev[]) =>
      log.append(
        'events',
        events.map((e) => ({ key: e.userId, value: Buffer.from(JSON.stringify(e)) })),
      );
    await send([
      { type: 'identify', userId: 'ann', plan: 'free' },
      { type: 'identify', userId: 'bob', plan: 'pro' },
      { type: 'track', userId: 'ann' },
      { type: 'identify', userId: 'ann', plan: 'pro' },
      { type: 'track', userId: 'ann' },
      { type: 'track', userId: 'bob' },
      { type: 'track', userId: 'cid' },
      { type: 'track', userId: 'bob', broken: true },
    ]);
    const traits = table<Ev, { plan: string }>(log, 'events', decodeJson<Ev>, {
      key: (e) => (e.type === 'identify' ? e.userId : null),
      reduce: (_previous, e) => ({ plan: e.plan ?? 'none' }),
    });
    const out = upsertSink<KeyedResult<string, number>>((r) => r.key);
    const pipeline = from(log, 'events', decodeJson<Ev>)
      .filter((e) => e.type === 'track')
      .branch([{ when: (e) => e.broken === true, topic: 'broken' }])
      .joinTable(
        traits,
        (e) => e.userId,
        (e, t) => ({ ...e, plan: t?.plan ?? 'unknown' }),
      )
      .keyBy((e) => e.plan)
      .aggregate(count())
      .to(out, { name: 'by_plan' });
    await log.ensureTopic('broken', { partitions: 1 });
    const engine = await startEngine({
      log,
      pipelines: [pipeline],
      group: 'g',
      stateDir: `${dir.path}/state`,
    });
    await drain(engine);
    await engine.stop();
    // Each track joins the traits as of its place in the log: ann's first track precedes her upgrade.
    assert.deepEqual(Object.fromEntries([...out.rows].map(([k, r]) => [k, r.value])), {
      free: 1,
      pro: 2,
      unknown: 1,
    });
    const broken = await log.read('broken', 0, 0);
    assert.equal(broken.length, 1);
    assert.deepEqual(JSON.parse(broken[0]!.value.toString()), { type: 'track', userId: 'bob', broken: true });
    await log.close();
  });

  it('joins a replay exactly as the first run, though the table had grown when the replay ran', async () => {
    await using dir = await makeTempDir();
    const log = await openLog(`${dir.path}/log`);
    await log.ensureTopic('events', { partitions: 2 });
    const send = (events: Ev[]) =>
      log.append(
        'events',
        events.map((e) => ({ key: e.userId, value: Buffer.from(JSON.stringify(e)) })),
      );
    const at = (e: Ev) => e.at!;
    const run = async (group: string, appendWhileRunning: Ev[][]) => {
      const traits = table<Ev, string>(log, 'events', decodeJson<Ev>, {
        key: (e) => (e.type === 'identify' ? e.userId : null),
        reduce: (_previous, e) => e.plan,
        eventTime: at,
      });
      const out = listSink<string>();
      const pipeline = from(log, 'events', decodeJson<Ev>, { eventTime: at })
        .filter((e) => e.type === 'track')
        .joinTable(
          traits,
          (e) => e.userId,
          (e, plan) => `${e.id}:${plan ?? 'none'}`,
        )
        .to(out, { name: 'joined' });
      const engine = await startEngine({
        log,
        pipelines: [pipeline],
        group,
        stateDir: `${dir.path}/${group}`,
      });
      try {
        await drain(engine);
        for (const batch of appendWhileRunning) {
          await send(batch);
          await drain(engine);
        }
      } finally {
        await engine.stop();
      }
      return out.items.sort();
    };
    await send([
      { type: 'identify', userId: 'ann', plan: 'free', at: 0 },
      { type: 'track', userId: 'ann', id: 't1', at: 10 },
    ]);
    // The first run processes t1 before the upgrade is in the log, and the rest as it arrives; bob's
    // identify arrives after his first track (t3) but precedes his second one (t4) in event time.
    const first = await run('live', [
      [
        { type: 'identify', userId: 'ann', plan: 'pro', at: 20 },
        { type: 'track', userId: 'ann', id: 't2', at: 30 },
        { type: 'track', userId: 'bob', id: 't3', at: 30 },
        { type: 'track', userId: 'ann', id: 't5', at: 15 },
      ],
      [
        { type: 'identify', userId: 'bob', plan: 'team', at: 35 },
        { type: 'track', userId: 'bob', id: 't4', at: 40 },
      ],
    ]);
    assert.deepEqual(first, ['t1:free', 't2:pro', 't3:none', 't4:team', 't5:free']);
    // A replay reads the whole table before the first element, yet joins each one as of its own time.
    const replay = await run('replay', []);
    assert.deepEqual(replay, first);
    await log.close();
  });
});
