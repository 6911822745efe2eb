export { DuckDbStore, type DuckDbStoreOptions } from './duckdb/duckdb-store.ts';
export { type CandidateLink, type IdentityLink, resolveLinks } from './duckdb/identity-links.ts';
export { EVENT_DISTINCT_ID, idKeySql } from './duckdb/person-key.ts';
export { ParquetDayWriter } from './export/parquet-day-writer.ts';
export { quoteIdentifier } from './identifiers.ts';
export { refuseRawEvents } from './retention.ts';
export type {
  ColumnDefinition,
  ColumnType,
  DeadLetter,
  Erasure,
  EventRange,
  QueryOptions,
  QueryParam,
  QueryResult,
  Row,
  RowFilter,
  SqlDialectName,
  Store,
  StoredEventRow,
  TableDefinition,
  UpsertOptions,
} from './store.ts';
export { checkVersionColumn, highestVersion, newestPerKey } from './versioned-rows.ts';
