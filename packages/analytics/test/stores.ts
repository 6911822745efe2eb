import { join } from 'node:path';
import { after } from 'node:test';
import type { TrackedEvent } from '@tracklane/core';
import { DuckDbStore, type Store } from '@tracklane/storage';
import { ClickHouseStore } from '@tracklane/storage-clickhouse';
import { chdbClient, chdbQueryClient } from '@tracklane/storage-clickhouse/chdb';
import { PostgresStore } from '@tracklane/storage-postgres';
import { type PgServer, pgServerMissing, startPgServer } from '@tracklane/storage-postgres/testing';
import { makeTempDir } from '@tracklane/test-utils';

/**
 * The three stores the analytics queries run on, each opened empty: DuckDB in memory, a real PostgreSQL
 * server (one per test file, started on first use, a database per store) and ClickHouse on chDB. Test files
 * run the same hand-checked requests on each, so every store is held to the same written-down answers.
 */
export interface StoreKind {
  name: 'DuckDB' | 'PostgreSQL' | 'ClickHouse (chdb)';
  /** Why this store cannot run here, if it cannot. */
  skip: string | undefined;
  open(): Promise<Store>;
}

let server: Promise<PgServer> | undefined;
let databases = 0;
const cleanups: (() => Promise<void>)[] = [];

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await (await server)?.stop();
});

async function openPostgres(): Promise<Store> {
  server ??= startPgServer();
  const url = await (await server).createDatabase(`analytics_${++databases}`);
  const store = await PostgresStore.open({ connectionString: url });
  cleanups.push(() => store.close());
  return store;
}

async function openChdb(): Promise<Store> {
  const dir = await makeTempDir('tracklane-analytics-chdb-');
  const path = join(dir.path, 'chdb');
  const store = await ClickHouseStore.open({ client: chdbClient(path), queryClient: chdbQueryClient(path) });
  cleanups.push(async () => {
    await store.close();
    await dir.remove();
  });
  return store;
}

async function openDuckDb(): Promise<Store> {
  const store = await DuckDbStore.open(':memory:');
  cleanups.push(() => store.close());
  return store;
}

export const STORES: readonly StoreKind[] = [
  { name: 'DuckDB', skip: undefined, open: openDuckDb },
  { name: 'PostgreSQL', skip: pgServerMissing(), open: openPostgres },
  { name: 'ClickHouse (chdb)', skip: undefined, open: openChdb },
];

/** Opens a store of `kind` holding `events`, inserted in the given batches (stitching must not depend on
 * which batch an identify arrives in). */
export async function storeWith(kind: StoreKind, ...batches: TrackedEvent[][]): Promise<Store> {
  const store = await kind.open();
  for (const batch of batches) await store.insertEvents(batch);
  return store;
}
