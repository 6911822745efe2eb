import { join, resolve } from 'node:path';
import { DuckDbStore, type Store } from '@tracklane/storage';
import type { StoreConfig } from './deployment-config.ts';

/**
 * Opens the `Store` a config names. The PostgreSQL and ClickHouse clients are imported only when asked for,
 * so the embedded `tracklane start` does not load them.
 */
export async function openStore(config: StoreConfig, dataDir: string): Promise<Store> {
  switch (config.kind) {
    case 'duckdb':
      return DuckDbStore.open(resolve(config.path ?? join(dataDir, 'tracklane.duckdb')));
    case 'postgres': {
      const { PostgresStore } = await import('@tracklane/storage-postgres');
      return PostgresStore.open({
        connectionString: config.url,
        ...(config.readerUrl === undefined ? {} : { readerConnectionString: config.readerUrl }),
        ...(config.poolSize === undefined ? {} : { poolSize: config.poolSize }),
      });
    }
    case 'clickhouse': {
      const { ClickHouseStore } = await import('@tracklane/storage-clickhouse');
      return ClickHouseStore.open({
        url: config.url,
        ...(config.compatFunctions === undefined ? {} : { compatFunctions: config.compatFunctions }),
      });
    }
  }
}
