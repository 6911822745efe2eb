import { after, describe, it } from 'node:test';
import type { TrackedEvent } from '@tracklane/core';
import { runSameAnswers } from '@tracklane/storage/conformance';
import { PostgresStore } from '@tracklane/storage-postgres';
import pg from 'pg';
// The analytics package's hand-checked world (not exported by it; a test-only import by path).
import { PEOPLE } from '../../analytics/test/dataset.ts';
import { type PgServer, pgServerMissing, startPgServer } from './pg-server.ts';

const dataset = { events: PEOPLE as TrackedEvent[], erase: { userId: 'alice', anonymousId: 'a-anon' } };

const missing = pgServerMissing();

if (missing !== undefined) {
  describe('PostgresStore answers like DuckDB', () => {
    it('needs a PostgreSQL server', { skip: missing }, () => undefined);
  });
} else {
  let server: PgServer | undefined;
  after(async () => {
    await server?.stop();
  });
  runSameAnswers(
    'PostgreSQL',
    async () => {
      server = await startPgServer();
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      await admin.query('CREATE DATABASE same').finally(() => admin.end());
      const store = await PostgresStore.open({
        connectionString: server.url.replace(/\/postgres$/, '/same'),
      });
      return { store, close: () => store.close() };
    },
    dataset,
  );
}
