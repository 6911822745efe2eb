import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runStoreConformance } from '@tracklane/storage/conformance';
import { PostgresStore } from '@tracklane/storage-postgres';
import pg from 'pg';
import { type PgServer, pgServerMissing, startPgServer } from './pg-server.ts';

const missing = pgServerMissing();

if (missing !== undefined) {
  describe('PostgresStore', () => {
    it('needs a PostgreSQL server', { skip: missing }, () => undefined);
  });
} else {
  let server: PgServer | undefined;
  let databases = 0;
  /** One server for the file; each store gets a fresh database on it. */
  async function freshDatabase(): Promise<string> {
    server ??= await startPgServer();
    const name = `t${++databases}`;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return server.url.replace(/\/postgres$/, `/${name}`);
  }
  after(async () => {
    await server?.stop();
  });

  runStoreConformance('PostgreSQL', async () => {
    const connectionString = await freshDatabase();
    return { open: () => PostgresStore.open({ connectionString }), cleanup: async () => undefined };
  });

  describe('PostgresStore identity migration', () => {
    it('re-resolves links stored one level deep so each points at its root', async () => {
      const url = await freshDatabase();
      const first = await PostgresStore.open({ connectionString: url });
      await first.close();
      // As an older release left them: a -> b and b -> c, and a loop p <-> q (first link wins).
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await admin.query(`INSERT INTO identities (distinct_id, person_id, linked_at) VALUES
          ('a', 'b', '2026-01-01 00:01'), ('b', 'c', '2026-01-01 00:02'),
          ('p', 'q', '2026-01-01 00:03'), ('q', 'p', '2026-01-01 00:04')`);
        await admin.query('DELETE FROM schema_migrations WHERE version = 5');
      } finally {
        await admin.end();
      }
      const store = await PostgresStore.open({ connectionString: url });
      try {
        const links = await store.query(
          'SELECT distinct_id, person_id, person_key = distinct_key FROM identities ORDER BY distinct_id',
        );
        assert.deepEqual(links.rows, [
          ['a', 'c', false],
          ['b', 'c', false],
          ['p', 'q', false],
        ]);
        const keys = await store.query(
          "SELECT count(DISTINCT person_key) FROM identities WHERE distinct_id IN ('a', 'b')",
        );
        assert.deepEqual(keys.rows, [[1]]);
      } finally {
        await store.close();
      }
    });
  });

  describe('PostgresStore specifics', () => {
    let store: PostgresStore;
    let url: string;
    before(async () => {
      url = await freshDatabase();
      store = await PostgresStore.open({ connectionString: url });
    });
    after(async () => {
      await store.close();
    });

    it('cannot escape the reader role, read server files or run programs through the query API', async () => {
      for (const sql of [
        "SELECT set_config('role', 'postgres', true)",
        "SELECT pg_catalog.\"set_config\"('role', 'postgres', false)",
        "SELECT pg_read_file('/etc/passwd')",
        "SELECT lo_import('/etc/passwd')",
        'RESET ROLE',
        'SET ROLE postgres',
        "COPY (SELECT 1) TO PROGRAM 'touch /tmp/x'",
        'WITH gone AS (DELETE FROM events RETURNING 1) SELECT count(*) FROM gone',
        'SELECT * FROM tombstones',
      ]) {
        await assert.rejects(store.query(sql), { code: 'E_READ_ONLY_SQL' }, sql);
      }
      // Unlisted server-file functions still fail on privileges: the role has SELECT grants only.
      await assert.rejects(store.query("SELECT pg_catalog.pg_stat_file('/etc/passwd', true) IS NULL"), {
        code: 'E_READ_ONLY_SQL',
      });
      const who = await store.query('SELECT current_user, session_user');
      assert.equal(who.rows[0]![0], 'tracklane_reader');
    });

    it('stores an event once when two processes insert it at the same moment', async () => {
      const other = await PostgresStore.open({ connectionString: url });
      try {
        const batch = Array.from({ length: 50 }, (_, i) => ({
          type: 'track' as const,
          event: 'Race',
          messageId: `race-${i}`,
          userId: 'u',
          timestamp: '2026-06-01T00:00:00Z',
          receivedAt: '2026-06-01T00:00:00Z',
          sourceId: 's',
        }));
        const [a, b] = await Promise.all([
          store.insertEvents(batch),
          other.insertEvents([...batch].reverse()),
        ]);
        assert.equal(a + b, 50, 'each event counted new by exactly one writer');
        const stored = await store.query("SELECT count(*) FROM events WHERE message_id LIKE 'race-%'");
        assert.deepEqual(stored.rows, [[50]]);
      } finally {
        await other.close();
      }
    });

    it('reads semicolons and keywords inside literals and comments as text, not statements', async () => {
      const result = await store.query(
        "SELECT ';' AS s, 'DELETE' AS d, $$x;y$$ AS q -- ; DROP TABLE events\n",
      );
      assert.deepEqual(result.rows, [[';', 'DELETE', 'x;y']]);
    });

    it('keeps a re-delivered event out even under a different timestamp (another partition)', async () => {
      const base = {
        type: 'track' as const,
        event: 'X',
        messageId: 'p-1',
        userId: 'u',
        receivedAt: '2026-03-01T00:00:00Z',
        sourceId: 's',
      };
      assert.equal(await store.insertEvents([{ ...base, timestamp: '2026-03-01T00:00:00Z' }]), 1);
      assert.equal(await store.insertEvents([{ ...base, timestamp: '2026-04-01T00:00:00Z' }]), 0);
      const partitions = await store.query(
        "SELECT tableoid::regclass::text, count(*) FROM events WHERE message_id = 'p-1' GROUP BY 1",
      );
      assert.deepEqual(partitions.rows, [['events_y2026m03', 1]]);
    });

    it('drops whole month partitions for retention and counts their rows', async () => {
      const at = (id: string, timestamp: string) => ({
        type: 'track' as const,
        event: 'R',
        messageId: id,
        userId: 'u',
        timestamp,
        receivedAt: timestamp,
        sourceId: 's',
      });
      await store.insertEvents([
        at('r-1', '1999-01-05T00:00:00Z'),
        at('r-2', '1999-01-20T00:00:00Z'),
        at('r-3', '1999-02-10T00:00:00Z'),
        at('r-4', '1999-02-20T00:00:00Z'),
      ]);
      assert.equal(await store.deleteEventsBefore(Date.parse('1999-02-15T00:00:00Z')), 3);
      const left = await store.query(
        "SELECT message_id FROM events WHERE message_id LIKE 'r-%' ORDER BY message_id",
      );
      assert.deepEqual(left.rows, [['r-4']]);
      const tables = await store.query("SELECT count(*) FROM pg_tables WHERE tablename = 'events_y1999m01'");
      assert.deepEqual(tables.rows, [[0]]);
      // Dropped ids left the dedup ledger with them: a replay may store them again (and retention removes them).
      assert.equal(await store.insertEvents([at('r-1', '1999-01-05T00:00:00Z')]), 1);
    });

    it("indexes a replace filter's first column, so retracting rows does not scan the table", async () => {
      await store.defineTable({
        name: 'open_rows',
        columns: [
          { name: 'id', type: 'string' },
          { name: 'visitor_id', type: 'string' },
          { name: 'is_open', type: 'bool' },
        ],
        primaryKey: ['id'],
      });
      const indexed = async () =>
        (
          await store.query(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'open_rows' AND indexdef LIKE '%(visitor_id)'",
          )
        ).rows[0]![0];
      assert.equal(await indexed(), 0);
      await store.upsert('open_rows', [{ id: 'a', visitor_id: 'v', is_open: true }], {
        replace: { visitor_id: ['v'], is_open: [true] },
      });
      assert.equal(await indexed(), 1);
    });

    it("returns rows in the DuckDB store's JSON shapes", async () => {
      const result = await store.query(
        `SELECT 2::bigint AS i, 1.5::numeric AS d, '{"a":1}'::jsonb AS j,
                '2026-01-02 03:04:05.678'::timestamp AS t, '2026-01-02'::date AS day, true AS b`,
      );
      assert.deepEqual(result.rows, [
        [2, 1.5, '{"a": 1}', '2026-01-02T03:04:05.678Z', '2026-01-02T00:00:00.000Z', true],
      ]);
    });

    it('runs queries on a separate SELECT-only login when one is configured', async () => {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await admin.query("CREATE ROLE tl_api LOGIN PASSWORD 'x' IN ROLE tracklane_reader");
        await admin.query('ALTER ROLE tl_api INHERIT');
      } finally {
        await admin.end();
      }
      const split = await PostgresStore.open({
        connectionString: url,
        readerConnectionString: url.replace('postgres@', 'tl_api:x@'),
      });
      try {
        assert.deepEqual((await split.query('SELECT session_user')).rows, [['tl_api']]);
        assert.ok(((await split.query('SELECT count(*) FROM events')).rows[0]![0] as number) > 0);
        await assert.rejects(split.query("SELECT pg_read_file('/etc/passwd')"), { code: 'E_READ_ONLY_SQL' });
      } finally {
        await split.close();
      }
    });
  });
}
