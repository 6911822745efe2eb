import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeTempDir } from '@tracklane/test-utils';
import { decodeJson, table } from '../src/index.ts';
import { openLog } from './helpers.ts';

interface Up {
  user: string;
  plan: string;
  at: number;
}

describe('tables in event time', () => {
  it('answers as of a time, refolding when an update arrives out of order, and folds away old history', async () => {
    await using dir = await makeTempDir();
    const log = await openLog(`${dir.path}/log`);
    await log.ensureTopic('traits', { partitions: 1 });
    const send = (ups: Up[]) =>
      log.append(
        'traits',
        ups.map((u) => ({ key: u.user, value: Buffer.from(JSON.stringify(u)) })),
      );
    // The value is every plan so far, in event-time order, so a wrong fold order shows.
    const plans = table<Up, string[]>(log, 'traits', decodeJson<Up>, {
      key: (u) => u.user,
      reduce: (previous, u) => [...(previous ?? []), u.plan],
      eventTime: (u) => u.at,
      retention: '1s',
    });
    const at = (ts: number) => ({ ts, topic: 'stream', partition: 0, offset: 0 });
    await send([
      { user: 'ann', plan: 'free', at: 100 },
      { user: 'ann', plan: 'team', at: 300 },
    ]);
    await plans.catchUp();
    // Arrives last, but happened in between.
    await send([{ user: 'ann', plan: 'pro', at: 200 }]);
    await plans.catchUp();
    assert.equal(plans.asOf('ann', at(50)), undefined);
    assert.deepEqual(plans.asOf('ann', at(250)), ['free', 'pro']);
    assert.deepEqual(plans.asOf('ann', at(300)), ['free', 'pro', 'team']);
    assert.deepEqual(plans.get('ann'), ['free', 'pro', 'team']);
    assert.equal(plans.asOf('bob', at(300)), undefined);

    // 2 s later in event time: history older than 1 s behind the newest update is folded into a base.
    await send([{ user: 'ann', plan: 'gold', at: 2300 }]);
    await plans.catchUp();
    assert.deepEqual(plans.asOf('ann', at(50)), ['free', 'pro', 'team']);
    assert.deepEqual(plans.asOf('ann', at(2300)), ['free', 'pro', 'team', 'gold']);
    await log.close();
  });
});
