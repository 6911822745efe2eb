import { TracklaneError } from '@tracklane/core';
import type { SqlDialectName, Store } from '@tracklane/storage';
import { clickhouseDialect } from './clickhouse.ts';
import type { SqlDialect } from './dialect.ts';
import { duckdbDialect } from './duckdb.ts';
import { postgresDialect } from './postgres.ts';

export type { AsofJoin, Interval, SqlDialect } from './dialect.ts';
export { clickhouseDialect, duckdbDialect, postgresDialect };

const DIALECTS: Record<SqlDialectName, SqlDialect> = {
  duckdb: duckdbDialect,
  postgres: postgresDialect,
  clickhouse: clickhouseDialect,
};

/** The dialect a store's `query` speaks, as the store itself tells. */
export function dialectOf(store: Pick<Store, 'sqlDialect'>): SqlDialect {
  const dialect = DIALECTS[store.sqlDialect];
  if (dialect === undefined) {
    throw new TracklaneError(
      'E_NOT_SUPPORTED',
      `the analytics queries have no SQL dialect '${String(store.sqlDialect)}': use duckdb, postgres or clickhouse`,
    );
  }
  return dialect;
}
