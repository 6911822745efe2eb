import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DuckDbStore } from '@tracklane/storage';
import { runStoreConformance } from '@tracklane/storage/conformance';
import { makeTempDir } from '@tracklane/test-utils';

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
      assert.deepEqual((await second.query('SELECT max(version) FROM schema_migrations')).rows, [[3]]);
    } finally {
      await second.close();
    }
  });
});
