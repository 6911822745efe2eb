export { DuckDbStore, type DuckDbStoreOptions } from './duckdb/duckdb-store.ts';
export { quoteIdentifier } from './identifiers.ts';
export type {
  ColumnDefinition,
  ColumnType,
  DeadLetter,
  QueryOptions,
  QueryResult,
  Row,
  Store,
  TableDefinition,
} from './store.ts';
