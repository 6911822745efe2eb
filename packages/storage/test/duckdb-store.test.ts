import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbStore } from '@tracklane/storage';
import { runStoreConformance } from '@tracklane/storage/conformance';
import { makeTempDir } from '@tracklane/test-utils';
import { MIGRATIONS } from '../src/duckdb/migrations.ts';

const LATEST = MIGRATIONS.at(-1)!.version;

runStoreConformance('DuckDB', async () => {
  const dir = await makeTempDir();
  return { open: () => DuckDbStore.open(join(dir.path, 'store.duckdb')), cleanup: dir.remove };
});

describe('DuckDbStore specifics', () => {
  it('cannot read files through the SQL API', async () => {
    await using dir = await makeTempDir();
    const store = await DuckDbStore.open(join(dir.path, 's.duckdb'));
    try {
      await assert.rejects(
        store.query("SELECT * FROM read_csv('/etc/passwd')"),
        (err: Error & { code: string }) => {
          assert.equal(err.code, 'E_SQL');
          assert.match(err.message, /disabled|Permission/i);
          return true;
        },
      );
      await assert.rejects(store.query("SELECT * FROM '/etc/passwd'"), { code: 'E_SQL' });
    } finally {
      await store.close();
    }
  });

  it('keeps data and migrations across reopen', async () => {
    await using dir = await makeTempDir();
    const path = join(dir.path, 's.duckdb');
    const first = await DuckDbStore.open(path);
    await first.insertEvents([
      {
        type: 'page',
        name: 'Home',
        messageId: 'm1',
        anonymousId: 'a',
        timestamp: '2026-01-01T00:00:00Z',
        receivedAt: '2026-01-01T00:00:00Z',
        sourceId: 's',
      },
    ]);
    await first.close();
    const second = await DuckDbStore.open(path);
    try {
      assert.deepEqual((await second.query('SELECT name FROM events')).rows, [['Home']]);
      assert.deepEqual((await second.query('SELECT max(version) FROM schema_migrations')).rows, [[LATEST]]);
    } finally {
      await second.close();
    }
  });

  it('upgrades a version-3 data dir: person keys backfilled, stored alias chains resolved', async () => {
    await using dir = await makeTempDir();
    const path = join(dir.path, 'old.duckdb');
    // A data dir as release 3 left it, links one level deep, including a loop (p -> q, q -> p).
    const instance = await DuckDBInstance.create(path);
    const db = await instance.connect();
    await db.run(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)',
    );
    for (const m of MIGRATIONS.filter((m) => m.version <= 3)) {
      await db.run(m.sql!);
      await db.run('INSERT INTO schema_migrations VALUES ($1, $2, now())', [m.version, m.description]);
    }
    await db.run(
      `INSERT INTO events (message_id, type, anonymous_id, user_id, timestamp, received_at, source_id) VALUES
         ('e1', 'page', 'a', NULL, '2026-01-01 00:01:00', '2026-01-01 00:01:00', 's'),
         ('e2', 'page', NULL, 'c', '2026-01-01 00:02:00', '2026-01-01 00:02:00', 's'),
         ('e3', 'page', 'q', NULL, '2026-01-01 00:03:00', '2026-01-01 00:03:00', 's')`,
    );
    await db.run(
      `INSERT INTO identities VALUES ('a', 'b', '2026-01-01 00:01:00'), ('b', 'c', '2026-01-01 00:02:00'),
         ('p', 'q', '2026-01-01 00:03:00'), ('q', 'p', '2026-01-01 00:04:00')`,
    );
    db.closeSync();
    instance.closeSync();

    const store = await DuckDbStore.open(path);
    try {
      assert.deepEqual((await store.query('SELECT max(version) FROM schema_migrations')).rows, [[LATEST]]);
      assert.deepEqual(
        (
          await store.query(
            "SELECT distinct_id, person_id, strftime(linked_at, '%H:%M') FROM identities ORDER BY 1",
          )
        ).rows,
        [
          ['a', 'c', '00:01'],
          ['b', 'c', '00:02'],
          ['p', 'q', '00:03'],
        ],
      );
      assert.deepEqual((await store.query('SELECT count(*) FROM events WHERE distinct_key IS NULL')).rows, [
        [0],
      ]);
      // a's page view and c's are one person; q is another.
      assert.deepEqual(
        (
          await store.query(
            `SELECT count(DISTINCT coalesce(i.person_key, e.distinct_key)) FROM events e
             LEFT JOIN identities i ON i.distinct_key = e.distinct_key`,
          )
        ).rows,
        [[2]],
      );
    } finally {
      await store.close();
    }
  });
});
