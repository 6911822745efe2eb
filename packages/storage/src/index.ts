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
