import { after, describe, it } from 'node:test';
import { PostgresStore } from '@tracklane/storage-postgres';
import pg from 'pg';
import { type PgServer, pgServerMissing, startPgServer } from './pg-server.ts';
import { runSameAnswers } from './same-answers.ts';

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
  runSameAnswers('PostgreSQL', async () => {
    server = await startPgServer();
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('CREATE DATABASE same').finally(() => admin.end());
    const store = await PostgresStore.open({ connectionString: server.url.replace(/\/postgres$/, '/same') });
    return { store, close: () => store.close() };
  });
}
