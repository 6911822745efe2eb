import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TrackedEvent } from '@tracklane/core';
import type { Store } from '@tracklane/storage';
import { runStoreConformance } from '@tracklane/storage/conformance';
import { ClickHouseStore } from '@tracklane/storage-clickhouse';
import { makeTempDir, type TempDir } from '@tracklane/test-utils';
import { chdbClient, chdbQueryClient } from './chdb-client.ts';

function event(messageId: string, userId: string): TrackedEvent {
  return {
    type: 'track',
    event: 'Viewed',
    messageId,
    userId,
    timestamp: '2026-05-01T00:00:00Z',
    receivedAt: '2026-05-01T00:00:00Z',
    sourceId: 's',
  };
}

async function openChdbStore(dir: TempDir): Promise<ClickHouseStore> {
  const path = join(dir.path, 'chdb');
  return ClickHouseStore.open({ client: chdbClient(path), queryClient: chdbQueryClient(path) });
}

/**
 * The conformance suite's row-limit and timeout tests generate rows with DuckDB's `range(n)` table
 * function, which ClickHouse does not have and cannot get from a SQL function (UDFs are scalar). This
 * wrapper renames that one table function to ClickHouse's `numbers(n)`, and nothing else; every other
 * query of the suite reaches the store as written.
 */
function withRangeAsNumbers(store: Store): Store {
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'query') {
        return (sql: string, options?: Parameters<Store['query']>[1]) =>
          target.query(sql.replace(/\bFROM range\(/g, 'FROM numbers('), options);
      }
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

runStoreConformance('ClickHouse (chdb, current engine)', async () => {
  const dir = await makeTempDir('tracklane-chdb-');
  return { open: async () => withRangeAsNumbers(await openChdbStore(dir)), cleanup: dir.remove };
});

describe('ClickHouseStore specifics (chdb)', () => {
  let dir: TempDir;
  let store: ClickHouseStore;
  before(async () => {
    dir = await makeTempDir('tracklane-chdb-');
    store = await openChdbStore(dir);
  });
  after(async () => {
    await store.close();
    await dir.remove();
  });

  it('cannot read files, reach URLs or change settings through the query API', async () => {
    for (const sql of [
      "SELECT * FROM file('/etc/passwd', 'LineAsString')",
      'SELECT 1 SETTINGS readonly = 0',
      'SELECT 1 SETTINGS max_execution_time = 0',
      'SYSTEM DROP DNS CACHE',
      'SELECT 1 FORMAT TabSeparated',
      'OPTIMIZE TABLE events FINAL',
    ]) {
      await assert.rejects(store.query(sql), { code: 'E_READ_ONLY_SQL' }, sql);
    }
  });

  it('reads semicolons and keywords inside literals and comments as text, not statements', async () => {
    const result = await store.query("SELECT ';' AS s, 'DELETE' AS d, 'it''s' AS q -- ; DROP TABLE events\n");
    assert.deepEqual(result.rows, [[';', 'DELETE', "it's"]]);
  });

  it('answers exactly while racing writers leave duplicates for the next merge', async () => {
    const event = {
      type: 'track' as const,
      event: 'Race',
      messageId: 'race-1',
      userId: 'u',
      timestamp: '2026-05-01T00:00:00Z',
      receivedAt: '2026-05-01T00:00:00Z',
      sourceId: 's',
    };
    // A second process: its own store on the same data, both inserting before either sees the other.
    const other = await openChdbStore(dir);
    try {
      await Promise.all([store.insertEvents([event]), other.insertEvents([event])]);
    } finally {
      await other.close();
    }
    const result = await store.query("SELECT count(*) FROM events WHERE message_id = 'race-1'");
    assert.deepEqual(result.rows, [[1]]);
  });

  it('counts a batch re-delivered after a restart as not new and stores it once', async () => {
    const batch = ['restart-1', 'restart-2', 'restart-3'].map((id) => event(id, 'restart-user'));
    assert.equal(await store.insertEvents(batch), 3);
    // A new process on the same data: nothing of this batch is in its memory.
    const restarted = await openChdbStore(dir);
    try {
      assert.equal(await restarted.insertEvents([...batch, event('restart-4', 'restart-user')]), 1);
    } finally {
      await restarted.close();
    }
    const result = await store.query(
      "SELECT count(*), uniqExact(message_id) FROM events WHERE message_id LIKE 'restart-%'",
    );
    assert.deepEqual(result.rows, [[4, 4]]);
  });

  it('reads a re-delivered batch once when it was neither remembered nor looked up', async () => {
    const batch = ['again-1', 'again-2'].map((id) => event(id, 'again-user'));
    await store.insertEvents(batch);
    // Another process, past its lookups after opening: it writes the batch again.
    const other = await ClickHouseStore.open({
      client: chdbClient(join(dir.path, 'chdb')),
      idLookupsAfterOpen: 0,
    });
    try {
      await other.insertEvents(batch);
    } finally {
      await other.close();
    }
    const result = await store.query(
      "SELECT count(*), uniqExact(message_id) FROM events WHERE message_id LIKE 'again-%'",
    );
    assert.deepEqual(result.rows, [[2, 2]]);
    const scanned: string[] = [];
    for await (const rows of store.scanEvents({})) {
      for (const r of rows) if (r.message_id.startsWith('again-')) scanned.push(r.message_id);
    }
    assert.deepEqual(scanned, ['again-1', 'again-2']);
  });

  it("keeps out a person's events right after another process erased them", async () => {
    // This store has read the (empty) tombstones before the erasure happens elsewhere.
    assert.equal(await store.insertEvents([event('gone-1', 'gone-user')]), 1);
    const api = await openChdbStore(dir);
    try {
      await api.eraseUser('gone-user');
    } finally {
      await api.close();
    }
    assert.equal(await store.insertEvents([event('gone-1', 'gone-user'), event('gone-2', 'gone-user')]), 0);
    assert.equal(await store.insertEvents([event('gone-3', 'other-user')]), 1);
    const result = await store.query("SELECT message_id FROM events WHERE message_id LIKE 'gone-%'");
    assert.deepEqual(result.rows, [['gone-3']]);
  });

  it('moves links already stored when their person is later aliased to another', async () => {
    await store.insertEvents([
      { ...event('chain-1', 'chain-u1'), type: 'identify', anonymousId: 'chain-anon' } as TrackedEvent,
    ]);
    await store.insertEvents([
      {
        ...event('chain-2', 'chain-u2'),
        type: 'alias',
        previousId: 'chain-u1',
        timestamp: '2026-05-01T00:00:01Z',
      } as TrackedEvent,
    ]);
    // Linked again in a later batch: already known, so no second link.
    await store.insertEvents([
      { ...event('chain-3', 'chain-u3'), type: 'identify', anonymousId: 'chain-anon' } as TrackedEvent,
    ]);
    const links = await store.query(
      "SELECT distinct_id, person_id FROM identities WHERE distinct_id LIKE 'chain-%' ORDER BY distinct_id",
    );
    assert.deepEqual(links.rows, [
      ['chain-anon', 'chain-u2'],
      ['chain-u1', 'chain-u2'],
    ]);
  });

  it('re-resolves identity links stored one level deep so each points at its root', async () => {
    // As an older release left them: a -> b and b -> c, and a loop p <-> q (first link wins).
    const raw = chdbClient(join(dir.path, 'chdb'));
    try {
      await raw.insert({
        table: 'identities',
        values: [
          ['a', 'b', '2026-01-01 00:01:00.000'],
          ['b', 'c', '2026-01-01 00:02:00.000'],
          ['p', 'q', '2026-01-01 00:03:00.000'],
          ['q', 'p', '2026-01-01 00:04:00.000'],
        ].map(([distinct_id, person_id, linked_at]) => ({ distinct_id, person_id, linked_at })),
        format: 'JSONEachRow',
      });
      await raw.command({
        query: 'ALTER TABLE schema_migrations DELETE WHERE version = 3',
        clickhouse_settings: { mutations_sync: '2' },
      });
    } finally {
      await raw.close();
    }
    await store.migrate();
    const links = await store.query(
      "SELECT distinct_id, person_id FROM identities WHERE distinct_id IN ('a', 'b', 'p', 'q') ORDER BY distinct_id",
    );
    assert.deepEqual(links.rows, [
      ['a', 'c'],
      ['b', 'c'],
      ['p', 'q'],
    ]);
    const keys = await store.query(
      "SELECT uniqExact(person_key) FROM identities WHERE distinct_id IN ('a', 'b')",
    );
    assert.deepEqual(keys.rows, [[1]]);
  });

  it("returns rows in the DuckDB store's JSON shapes", async () => {
    const result = await store.query(
      `SELECT toInt64(2) AS i, toDecimal64(1.5, 2) AS d, '{"a":1}' AS j,
              toDateTime64('2026-01-02 03:04:05.678', 3, 'UTC') AS t, toDate('2026-01-02') AS day, true AS b,
              toUInt64(18446744073709551615) AS big`,
    );
    assert.deepEqual(result.rows, [
      [
        2,
        1.5,
        '{"a":1}',
        '2026-01-02T03:04:05.678Z',
        '2026-01-02T00:00:00.000Z',
        true,
        '18446744073709551615',
      ],
    ]);
  });
});
