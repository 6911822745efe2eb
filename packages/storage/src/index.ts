export { DuckDbStore, type DuckDbStoreOptions } from './duckdb/duckdb-store.ts';
export { quoteIdentifier } from './identifiers.ts';
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
  Store,
  StoredEventRow,
  TableDefinition,
} from './store.ts';
