import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TrackedEvent } from '@tracklane/core';
import type { Store } from '../store.ts';
import { versionedUpsertCases } from './versioned-upsert.ts';

export interface StoreFixture {
  /** Opens a fresh, empty, migrated store. */
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

function event(id: string, overrides: Partial<TrackedEvent> = {}): TrackedEvent {
  return {
    type: 'track',
    event: 'Signed Up',
    messageId: id,
    userId: 'u1',
    timestamp: '2026-01-02T03:04:05.678Z',
    receivedAt: '2026-01-02T03:04:06.000Z',
    sourceId: 'src1',
    properties: { plan: 'pro', seats: 3 },
    context: { ip: '1.2.3.0' },
    ...overrides,
  } as TrackedEvent;
}

/**
 * The behaviour every Store must show, run unchanged against each implementation (DuckDB, ClickHouse,
 * PostgreSQL): idempotent writes, faithful reads, and a query API that cannot change or read outside data.
 */
export function runStoreConformance(name: string, factory: () => Promise<StoreFixture>): void {
  describe(`Store conformance: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;
    before(async () => {
      fixture = await factory();
      store = await fixture.open();
    });
    after(async () => {
      await store.close();
      await fixture.cleanup();
    });

    it('stores an event once even when it is inserted again', async () => {
      assert.equal(await store.insertEvents([event('dup-1'), event('dup-1'), event('dup-2')]), 2);
      assert.equal(await store.insertEvents([event('dup-1')]), 0);
      const result = await store.query("SELECT count(*) AS n FROM events WHERE message_id LIKE 'dup-%'");
      assert.deepEqual(result.rows, [[2]]);
    });

    it('keeps every field of an event, timestamps in UTC', async () => {
      await store.insertEvents([
        event('fields-1', {
          timestamp: '2026-01-02T05:04:05.678+02:00',
          anonymousId: 'anon-9',
        } as Partial<TrackedEvent>),
      ]);
      const result = await store.query(
        `SELECT type, event, user_id, anonymous_id, source_id, strftime(timestamp, '%Y-%m-%dT%H:%M:%S.%g') AS ts,
                json_extract(properties, '$.seats') AS seats, json_extract_string(context, '$.ip') AS ip
         FROM events WHERE message_id = 'fields-1'`,
      );
      assert.deepEqual(result.columns, [
        'type',
        'event',
        'user_id',
        'anonymous_id',
        'source_id',
        'ts',
        'seats',
        'ip',
      ]);
      assert.deepEqual(result.rows[0], [
        'track',
        'Signed Up',
        'u1',
        'anon-9',
        'src1',
        '2026-01-02T03:04:05.678',
        '3',
        '1.2.3.0',
      ]);
    });

    it('upserts projection rows by primary key', async () => {
      await store.defineTable({
        name: 'conf_counts',
        columns: [
          { name: 'bucket', type: 'timestamp' },
          { name: 'event', type: 'string' },
          { name: 'n', type: 'int' },
        ],
        primaryKey: ['bucket', 'event'],
      });
      await store.upsert('conf_counts', [
        { bucket: '2026-01-01T00:00:00Z', event: 'a', n: 1 },
        { bucket: '2026-01-01T00:00:00Z', event: 'b', n: 5 },
      ]);
      await store.upsert('conf_counts', [
        { bucket: Date.parse('2026-01-01T00:00:00Z'), event: 'a', n: 2 },
        { bucket: '2026-01-01T00:00:00Z', event: 'a', n: 3 },
      ]);
      const result = await store.query('SELECT event, n FROM conf_counts ORDER BY event');
      assert.deepEqual(result.rows, [
        ['a', 3],
        ['b', 5],
      ]);
    });

    versionedUpsertCases(() => store);

    it('swaps a rebuilt table in place of the old one', async () => {
      const columns = [
        { name: 'k', type: 'string' as const },
        { name: 'v', type: 'int' as const },
      ];
      await store.defineTable({ name: 'conf_swap', columns, primaryKey: ['k'] });
      await store.upsert('conf_swap', [{ k: 'old', v: 1 }]);
      await store.defineTable({ name: 'conf_swap__rebuild', columns, primaryKey: ['k'] });
      await store.upsert('conf_swap__rebuild', [{ k: 'new', v: 2 }]);
      await store.swapTable('conf_swap__rebuild', 'conf_swap');
      assert.deepEqual((await store.query('SELECT k, v FROM conf_swap')).rows, [['new', 2]]);
      await store.upsert('conf_swap', [{ k: 'new', v: 3 }]);
      assert.deepEqual((await store.query('SELECT k, v FROM conf_swap')).rows, [['new', 3]]);
    });

    it('stores dead letters once with their reason', async () => {
      const letter = {
        id: 'dl-1',
        stage: 'collector',
        reason: '/event: Expected string',
        payload: '{"event":5}',
        failedAt: Date.now(),
      };
      await store.insertDeadLetters([letter, letter]);
      const result = await store.query("SELECT stage, reason, payload FROM dead_letters WHERE id = 'dl-1'");
      assert.deepEqual(result.rows, [['collector', '/event: Expected string', '{"event":5}']]);
    });

    it('rejects writes, DDL and multiple statements through query', async () => {
      for (const sql of [
        "INSERT INTO events (message_id) VALUES ('x')",
        'DELETE FROM events',
        'DROP TABLE events',
        'UPDATE events SET user_id = 1',
        'CREATE TABLE x (a INT)',
        'SELECT 1; DELETE FROM events',
      ]) {
        await assert.rejects(store.query(sql), { code: 'E_READ_ONLY_SQL' }, sql);
      }
      assert.ok(((await store.query('SELECT count(*) FROM events')).rows[0]![0] as number) > 0);
    });

    it('reports SQL errors with the engine message', async () => {
      await assert.rejects(store.query('SELEC nonsense'), { code: 'E_SQL' });
      await assert.rejects(store.query('SELECT no_such_column FROM events'), { code: 'E_SQL' });
    });

    it('cuts results at the row limit and says so', async () => {
      const result = await store.query('SELECT * FROM range(100)', { maxRows: 10 });
      assert.equal(result.rows.length, 10);
      assert.equal(result.truncated, true);
    });

    it('binds parameters instead of splicing them into SQL', async () => {
      const hostile = "x' OR 1=1 --";
      const result = await store.query('SELECT count(*) FROM events WHERE user_id = $1', {
        params: [hostile],
      });
      assert.deepEqual(result.rows, [[0]]);
      const echo = await store.query('SELECT $1 AS s, $2 + 1 AS n', { params: [hostile, 41] });
      assert.deepEqual(echo.rows, [[hostile, 42]]);
    });

    it('erases a person by user id and stitched anonymous ids, and keeps them erased', async () => {
      await store.insertEvents([
        event('er-1', { userId: undefined, anonymousId: 'er-anon' } as Partial<TrackedEvent>),
        event('er-2', {
          type: 'identify',
          userId: 'er-user',
          anonymousId: 'er-anon',
        } as Partial<TrackedEvent>),
        event('er-3', { userId: 'er-user' } as Partial<TrackedEvent>),
        event('er-keep', { userId: 'someone-else' } as Partial<TrackedEvent>),
      ]);
      await store.defineTable({
        name: 'conf_profiles',
        columns: [
          { name: 'user_id', type: 'string' },
          { name: 'n', type: 'int' },
        ],
        primaryKey: ['user_id'],
      });
      await store.upsert('conf_profiles', [
        { user_id: 'er-user', n: 1 },
        { user_id: 'someone-else', n: 2 },
      ]);
      const erasure = await store.eraseUser('er-user');
      assert.deepEqual(erasure.ids, ['er-anon', 'er-user']);
      assert.equal(erasure.eventsDeleted, 3);
      const left = await store.query(
        "SELECT message_id FROM events WHERE message_id LIKE 'er-%' ORDER BY message_id",
      );
      assert.deepEqual(left.rows, [['er-keep']]);
      assert.deepEqual((await store.query('SELECT user_id FROM conf_profiles')).rows, [['someone-else']]);
      // Re-delivery of the same events, and new events under either id, stay out.
      await store.insertEvents([
        event('er-1', { userId: undefined, anonymousId: 'er-anon' } as Partial<TrackedEvent>),
        event('er-4', { userId: 'er-user' } as Partial<TrackedEvent>),
      ]);
      assert.deepEqual((await store.query("SELECT count(*) FROM events WHERE message_id LIKE 'er-%'")).rows, [
        [1],
      ]);
    });

    it('extends a tombstone to anonymous ids revealed after the erasure', async () => {
      await store.eraseUser('late-user');
      await store.insertEvents([
        event('late-1', { userId: undefined, anonymousId: 'late-anon' } as Partial<TrackedEvent>),
      ]);
      await store.insertEvents([
        event('late-2', {
          type: 'identify',
          userId: 'late-user',
          anonymousId: 'late-anon',
        } as Partial<TrackedEvent>),
      ]);
      await store.insertEvents([
        event('late-3', { userId: undefined, anonymousId: 'late-anon' } as Partial<TrackedEvent>),
      ]);
      assert.deepEqual(
        (await store.query("SELECT count(*) FROM events WHERE message_id LIKE 'late-%'")).rows,
        [[0]],
      );
    });

    it('deletes raw events older than a cutoff', async () => {
      await store.insertEvents([
        event('old-1', { timestamp: '2001-01-01T00:00:00Z' } as Partial<TrackedEvent>),
        event('old-2', { timestamp: '2001-01-02T00:00:00Z' } as Partial<TrackedEvent>),
      ]);
      assert.equal(await store.deleteEventsBefore(Date.parse('2001-01-02T00:00:00Z')), 1);
      assert.deepEqual(
        (await store.query("SELECT message_id FROM events WHERE message_id LIKE 'old-%'")).rows,
        [['old-2']],
      );
    });

    it('deletes derived rows older than a cutoff, and nothing from a table that does not exist', async () => {
      await store.defineTable({
        name: 'retained_sessions',
        columns: [
          { name: 'session_id', type: 'string' },
          { name: 'end_at', type: 'timestamp' },
        ],
        primaryKey: ['session_id'],
      });
      await store.upsert('retained_sessions', [
        { session_id: 's1', end_at: '2001-01-01T00:00:00Z' },
        { session_id: 's2', end_at: '2001-01-01T23:59:59.999Z' },
        { session_id: 's3', end_at: '2001-01-02T00:00:00Z' },
      ]);
      const cutoff = Date.parse('2001-01-02T00:00:00Z');
      assert.equal(await store.deleteRowsBefore('retained_sessions', 'end_at', cutoff), 2);
      assert.deepEqual((await store.query('SELECT session_id FROM retained_sessions')).rows, [['s3']]);
      assert.equal(await store.deleteRowsBefore('retained_sessions', 'end_at', cutoff), 0);
      assert.equal(await store.deleteRowsBefore('never_defined', 'end_at', cutoff), 0);
      await assert.rejects(store.deleteRowsBefore('events', 'timestamp', cutoff), { code: 'E_BAD_ARGUMENT' });
    });

    it('scans events of a time range in order, in batches', async () => {
      await store.insertEvents([
        event('scan-2', { timestamp: '2002-01-01T00:00:02Z' } as Partial<TrackedEvent>),
        event('scan-1', { timestamp: '2002-01-01T00:00:01Z' } as Partial<TrackedEvent>),
        event('scan-3', { timestamp: '2002-01-01T00:00:03Z' } as Partial<TrackedEvent>),
      ]);
      const batches: string[][] = [];
      for await (const batch of store.scanEvents(
        { from: Date.parse('2002-01-01T00:00:01Z'), to: Date.parse('2002-01-01T00:00:03Z') },
        1,
      )) {
        batches.push(batch.map((row) => row.message_id));
      }
      assert.deepEqual(batches, [['scan-1'], ['scan-2']]);
      for await (const [row] of store.scanEvents({ from: Date.parse('2002-01-01T00:00:03Z') })) {
        assert.equal(row!.timestamp, '2002-01-01T00:00:03.000Z');
        assert.deepEqual(JSON.parse(row!.properties!), { plan: 'pro', seats: 3 });
      }
    });

    it('stops a query that runs past its time limit', async () => {
      await assert.rejects(store.query('SELECT count(*) FROM range(10000000000) a', { timeoutMs: 200 }), {
        code: 'E_QUERY_TIMEOUT',
      });
    });
  });
}

export { runSameAnswers, type SameAnswersDataset } from './same-answers.ts';
