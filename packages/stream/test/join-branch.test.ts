import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeTempDir } from '@tracklane/test-utils';
import { count, decodeJson, from, type KeyedResult, startEngine, table } from '../src/index.ts';
import { drain, openLog, upsertSink } from './helpers.ts';

interface Ev {
  type: 'identify' | 'track';
  userId: string;
  plan?: string;
  broken?: boolean;
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
    // The table is caught up to the topic's end before each batch: ann's first track sees her later plan.
    assert.deepEqual(Object.fromEntries([...out.rows].map(([k, r]) => [k, r.value])), { pro: 3, unknown: 1 });
    const broken = await log.read('broken', 0, 0);
    assert.equal(broken.length, 1);
    assert.deepEqual(JSON.parse(broken[0]!.value.toString()), { type: 'track', userId: 'bob', broken: true });
    await log.close();
  });
});
