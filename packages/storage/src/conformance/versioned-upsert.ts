import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Store, TableDefinition } from '../store.ts';

/**
 * Versioned projection tables (what makes stream results exactly-once as seen in storage): an older
 * result delivered late never overwrites a newer one, and `replace` retracts rows a projection no longer
 * produces. Registered inside the conformance suite, on its store.
 */
export function versionedUpsertCases(store: () => Store): void {
  const counts: TableDefinition = {
    name: 'conf_versioned',
    columns: [
      { name: 'minute', type: 'timestamp' },
      { name: 'event', type: 'string' },
      { name: 'n', type: 'int' },
      { name: 'version', type: 'int' },
    ],
    primaryKey: ['minute', 'event'],
    version: 'version',
  };
  const minute = '2026-01-01T00:01:00Z';
  const rowsOf = async (table: string) =>
    (await store().query(`SELECT event, n, version FROM ${table} ORDER BY event`)).rows.map((r) =>
      r.map(Number.isNaN(Number(r[1])) ? (v) => v : (v) => (typeof v === 'string' ? v : Number(v))),
    );

  it('never lets a re-delivered older version overwrite a newer row', async () => {
    await store().defineTable(counts);
    await store().upsert(counts.name, [{ minute, event: 'a', n: 7, version: 20 }]);
    // The checkpoint that wrote version 10 is retried after version 20 landed: an out-of-order re-delivery.
    await store().upsert(counts.name, [
      { minute, event: 'a', n: 3, version: 10 },
      { minute, event: 'b', n: 1, version: 10 },
    ]);
    assert.deepEqual(await rowsOf(counts.name), [
      ['a', 7, 20],
      ['b', 1, 10],
    ]);
    // Newer versions replace; within one call the newest row of a key wins whatever its position.
    await store().upsert(counts.name, [
      { minute: Date.parse(minute), event: 'a', n: 9, version: 30 },
      { minute, event: 'a', n: 8, version: 25 },
      { minute, event: 'b', n: 2, version: 11 },
    ]);
    assert.deepEqual(await rowsOf(counts.name), [
      ['a', 9, 30],
      ['b', 2, 11],
    ]);
  });

  it('replaces a slice of rows, deleting what the batch no longer holds but nothing newer', async () => {
    const sessions: TableDefinition = {
      name: 'conf_open_sessions',
      columns: [
        { name: 'session_id', type: 'string' },
        { name: 'visitor_id', type: 'string' },
        { name: 'is_open', type: 'bool' },
        { name: 'version', type: 'int' },
      ],
      primaryKey: ['session_id'],
      version: 'version',
    };
    const ids = async () =>
      (
        await store().query('SELECT session_id, is_open FROM conf_open_sessions ORDER BY session_id')
      ).rows.map((r) => `${r[0]}:${r[1]}`);
    await store().defineTable(sessions);
    await store().upsert(sessions.name, [
      { session_id: 'v1-a', visitor_id: 'v1', is_open: false, version: 1 },
      { session_id: 'v1-b', visitor_id: 'v1', is_open: true, version: 1 },
      { session_id: 'v1-c', visitor_id: 'v1', is_open: true, version: 1 },
      { session_id: 'v2-a', visitor_id: 'v2', is_open: true, version: 1 },
      { session_id: 'v3-a', visitor_id: 'v3', is_open: true, version: 9 },
    ]);
    // v1's open sessions b and c merged into d: the write holds v1's whole open set, so b and c go; the
    // closed session a is outside the slice, v2 is not named, and v3's row is newer than this write.
    await store().upsert(
      sessions.name,
      [{ session_id: 'v1-d', visitor_id: 'v1', is_open: true, version: 2 }],
      { replace: { visitor_id: ['v1', 'v3'], is_open: [true] } },
    );
    assert.deepEqual(await ids(), ['v1-a:false', 'v1-d:true', 'v2-a:true', 'v3-a:true']);
    // An empty batch with a slice empties the slice.
    await store().upsert(sessions.name, [], { replace: { visitor_id: ['v2'], is_open: [true] } });
    assert.deepEqual(await ids(), ['v1-a:false', 'v1-d:true', 'v3-a:true']);
  });

  it('adds a version column to a table created without one; its old rows lose to any versioned write', async () => {
    const legacy: TableDefinition = {
      name: 'conf_legacy',
      columns: [
        { name: 'event', type: 'string' },
        { name: 'n', type: 'int' },
      ],
      primaryKey: ['event'],
    };
    await store().defineTable(legacy);
    await store().upsert(legacy.name, [
      { event: 'a', n: 1 },
      { event: 'b', n: 2 },
    ]);
    await store().defineTable({
      ...legacy,
      columns: [...legacy.columns, { name: 'version', type: 'int' }],
      version: 'version',
    });
    await store().upsert(legacy.name, [{ event: 'a', n: 5, version: 0 }]);
    const rows = (await store().query('SELECT event, n FROM conf_legacy ORDER BY event')).rows;
    assert.deepEqual(
      rows.map((r) => [r[0], Number(r[1])]),
      [
        ['a', 5],
        ['b', 2],
      ],
    );
  });
}
