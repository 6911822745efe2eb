import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrackedEvent } from '@tracklane/core';
import { DuckDbStore } from '@tracklane/storage';
import { makeTempDir } from '@tracklane/test-utils';
import { sessionId, sessions, startEngine } from '../src/index.ts';
import { drain, openLog } from './helpers.ts';

const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);
const MIN = 60_000;

let n = 0;
function page(visitor: string, at: number, path = '/'): TrackedEvent {
  const ts = new Date(at).toISOString();
  return {
    type: 'page',
    messageId: `m-${++n}`,
    anonymousId: visitor,
    name: 'Page',
    properties: { path },
    timestamp: ts,
    receivedAt: ts,
    sourceId: 'src',
  } as TrackedEvent;
}

describe('sessions in progress', () => {
  it('are visible while open, keep their id as they grow, give way when merged, and are finalised', async () => {
    await using dir = await makeTempDir();
    const log = await openLog(`${dir.path}/log`);
    const store = await DuckDbStore.open(`${dir.path}/tracklane.duckdb`);
    // One partition: the watermark that closes sessions is per partition.
    await log.ensureTopic('events', { partitions: 1 });
    const pipeline = sessions.build({ log, store, tableName: 'sessions', exact: false });
    const engine = await startEngine({
      log,
      pipelines: [pipeline],
      group: 'g',
      stateDir: `${dir.path}/state`,
      checkpointIntervalMs: 10,
    });
    const send = async (events: TrackedEvent[]) => {
      await log.append(
        'events',
        events.map((e) => ({ key: e.anonymousId ?? null, value: Buffer.from(JSON.stringify(e)) })),
      );
      await drain(engine);
    };
    const table = async () =>
      (
        await store.query(
          `SELECT session_id, visitor_id, epoch_ms(start_at), event_count, is_open, exit_page
           FROM sessions ORDER BY visitor_id, start_at`,
        )
      ).rows.map(([id, visitor, start, count, open, exit]) => ({
        id,
        visitor,
        start: Number(start),
        count: Number(count),
        open,
        exit,
      }));
    try {
      // "Sessions right now" while they are in progress, by event time.
      await send([page('ann', T0, '/a'), page('ann', T0 + MIN, '/b')]);
      assert.deepEqual(await table(), [
        { id: sessionId('ann', T0), visitor: 'ann', start: T0, count: 2, open: true, exit: '/b' },
      ]);
      const live = await store.query('SELECT count(*) FROM sessions WHERE is_open');
      assert.deepEqual(live.rows, [[1]]);

      // It grows under the same id.
      await send([page('ann', T0 + 5 * MIN, '/c')]);
      assert.deepEqual(await table(), [
        { id: sessionId('ann', T0), visitor: 'ann', start: T0, count: 3, open: true, exit: '/c' },
      ]);

      // Two sessions 35 minutes apart, then an out-of-order event bridging them (late by 8 minutes, within
      // the 1 min out-of-orderness + 10 min allowed lateness): one session remains, and the row of the one
      // merged away is gone rather than left open.
      const bob = T0 + 6 * MIN;
      await send([page('bob', bob, '/x'), page('bob', bob + 35 * MIN, '/y')]);
      assert.deepEqual(
        (await table()).filter((r) => r.visitor === 'bob').map((r) => [r.id, r.count, r.open]),
        [
          [sessionId('bob', bob), 1, true],
          [sessionId('bob', bob + 35 * MIN), 1, true],
        ],
      );
      await send([page('bob', bob + 27 * MIN, '/z')]);
      assert.deepEqual(await table(), [
        { id: sessionId('ann', T0), visitor: 'ann', start: T0, count: 3, open: true, exit: '/c' },
        { id: sessionId('bob', bob), visitor: 'bob', start: bob, count: 3, open: true, exit: '/y' },
      ]);

      // Event time moves on (another visitor, hours later): both close, as final rows with the same ids.
      await send([page('cid', T0 + 3 * 60 * MIN, '/late')]);
      assert.deepEqual(await table(), [
        { id: sessionId('ann', T0), visitor: 'ann', start: T0, count: 3, open: false, exit: '/c' },
        { id: sessionId('bob', bob), visitor: 'bob', start: bob, count: 3, open: false, exit: '/y' },
        {
          id: sessionId('cid', T0 + 180 * MIN),
          visitor: 'cid',
          start: T0 + 180 * MIN,
          count: 1,
          open: true,
          exit: '/late',
        },
      ]);
    } finally {
      await engine.stop();
      await store.close();
      await log.close();
    }
  });
});
