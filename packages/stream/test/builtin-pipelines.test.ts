import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EmbeddedLog } from '@tracklane/log';
import { DuckDbStore } from '@tracklane/storage';
import { makeTempDir, type TempDir, waitFor } from '@tracklane/test-utils';
import { HyperLogLog, replayPipeline, startBuiltinPipelines } from '../src/index.ts';
import { generateEvents, toRecord } from './fixture.ts';
import { openLog } from './helpers.ts';

async function rows(store: DuckDbStore, sql: string): Promise<string[]> {
  const result = await store.query(sql, { maxRows: 100_000 });
  return result.rows.map((r) => JSON.stringify(r)).sort();
}

describe('built-in pipelines', () => {
  let dir: TempDir;
  let log: EmbeddedLog;
  let store: DuckDbStore;
  const events = generateEvents(6000);

  before(async () => {
    dir = await makeTempDir();
    log = await openLog(`${dir.path}/log`);
    store = await DuckDbStore.open(`${dir.path}/tracklane.duckdb`);
    await store.migrate();
    await log.ensureTopic('events', { partitions: 3 });
    await log.append('events', events.map(toRecord));
    await store.insertEvents(events);
    const running = await startBuiltinPipelines({
      log,
      store,
      dataDir: dir.path,
      exact: true,
      partitions: 3,
    });
    await waitFor(async () => (await running.lag()) === 0, {
      timeoutMs: 30_000,
      what: 'pipelines to catch up',
    });
    await running.stop();
  });

  after(async () => {
    await store.close();
    await log.close();
    await dir.remove();
  });

  it('counts events per minute exactly as SQL over the raw events (duplicates once)', async () => {
    const expected = await rows(
      store,
      `SELECT epoch_ms(date_trunc('minute', timestamp)), type, coalesce(event, name, ''), count(*)::INTEGER
       FROM events GROUP BY ALL`,
    );
    const actual = await rows(store, 'SELECT epoch_ms(minute), type, event, count FROM event_counts_minute');
    assert.ok(expected.length > 100);
    assert.deepEqual(actual, expected);
  });

  it('counts unique users per hour and day: exact equals SQL, HLL within its error bound', async () => {
    for (const [table, unit] of [
      ['unique_users_hour', 'hour'],
      ['unique_users_day', 'day'],
    ] as const) {
      const expected = await rows(
        store,
        `SELECT epoch_ms(date_trunc('${unit}', timestamp)), count(DISTINCT coalesce(user_id, anonymous_id))::INTEGER
         FROM events GROUP BY ALL`,
      );
      const actual = await store.query(`SELECT epoch_ms(${unit}), exact, approx FROM ${table}`);
      assert.deepEqual(actual.rows.map((r) => JSON.stringify(r.slice(0, 2))).sort(), expected);
      const bound = 3 * HyperLogLog.standardError();
      for (const [, exact, approx] of actual.rows as [number, number, number][]) {
        assert.ok(Math.abs(approx - exact) <= Math.max(1, exact * bound), `${table}: ${approx} vs ${exact}`);
      }
    }
  });

  it('sessionises like SQL with a 30-minute inactivity gap', async () => {
    // Sessions are written when final, by each partition's own watermark: the newest ones are still open.
    const closedBefore = `(SELECT max(timestamp) FROM events) - INTERVAL 2 HOUR`;
    const expected = await rows(
      store,
      `WITH a AS (
         SELECT anonymous_id AS v, timestamp AS ts, type, message_id,
           CASE WHEN lag(timestamp) OVER w IS NULL OR timestamp - lag(timestamp) OVER w > INTERVAL 30 MINUTE
             THEN 1 ELSE 0 END AS starts
         FROM events WHERE type IN ('track', 'page', 'screen') WINDOW w AS (PARTITION BY anonymous_id ORDER BY timestamp)
       ), s AS (SELECT *, sum(starts) OVER (PARTITION BY v ORDER BY ts ROWS UNBOUNDED PRECEDING) AS n FROM a)
       SELECT v, epoch_ms(min(ts)), epoch_ms(max(ts)), count(*)::INTEGER, count(*) FILTER (type = 'page')::INTEGER
       FROM s GROUP BY v, n HAVING max(ts) < ${closedBefore}`,
    );
    const actual = await rows(
      store,
      `SELECT visitor_id, epoch_ms(start_at), epoch_ms(end_at), event_count, page_count FROM sessions
       WHERE end_at < ${closedBefore}`,
    );
    assert.ok(expected.length > 20);
    assert.deepEqual(actual, expected);
    const bounces = await store.query('SELECT count(*) FROM sessions WHERE bounce <> (event_count = 1)');
    assert.equal(Number(bounces.rows[0]![0]), 0);
  });

  it('keeps a profile per person with first and last seen and the latest traits', async () => {
    const expected = await rows(
      store,
      `SELECT coalesce(user_id, anonymous_id), epoch_ms(min(timestamp)), epoch_ms(max(timestamp)),
         (arg_max(traits, (timestamp, message_id)) FILTER (type = 'identify'))::JSON->>'plan'
       FROM events GROUP BY ALL`,
    );
    const actual = await rows(
      store,
      `SELECT user_id, epoch_ms(first_seen), epoch_ms(last_seen), traits->>'plan' FROM user_profiles`,
    );
    assert.deepEqual(actual, expected);
  });

  it('replay rebuilds every table to the same rows and swaps it in', async () => {
    for (const name of ['event_counts_minute', 'unique_users_hour', 'sessions', 'user_profiles']) {
      const before = await rows(store, `SELECT * EXCLUDE (version) FROM ${name}`);
      const progress: number[] = [];
      const result = await replayPipeline({
        log,
        store,
        pipeline: name,
        exact: true,
        onProgress: (p) => progress.push(p.done / p.total),
      });
      assert.equal(result.records, events.length);
      assert.equal(progress.at(-1), 1);
      assert.deepEqual(await rows(store, `SELECT * EXCLUDE (version) FROM ${name}`), before, name);
    }
  });

  it('replays from a point in time: only records appended since then, and says so in its progress', async () => {
    const ends = await log.offsets('events');
    const middle = (await log.read('events', 0, Math.floor(ends[0]!.end / 2), { maxRecords: 1 }))[0]!;
    let last = { done: 0, total: 0 };
    const result = await replayPipeline({
      log,
      store,
      pipeline: 'event_counts_minute',
      from: new Date(middle.timestamp),
      onProgress: (p) => {
        last = p;
      },
    });
    assert.ok(result.records > 0 && result.records < events.length, `${result.records}`);
    assert.deepEqual(last, { done: result.records, total: result.records });
    await assert.rejects(replayPipeline({ log, store, pipeline: 'nope' }), /no pipeline 'nope'/);
  });
});
