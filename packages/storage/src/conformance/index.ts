import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TrackedEvent } from '@tracklane/core';
import type { Store } from '../store.ts';

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

    it('stops a query that runs past its time limit', async () => {
      await assert.rejects(store.query('SELECT count(*) FROM range(10000000000) a', { timeoutMs: 200 }), {
        code: 'E_QUERY_TIMEOUT',
      });
    });
  });
}
