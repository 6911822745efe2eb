export { ClickHouseStore, type ClickHouseStoreOptions, MIN_CLICKHOUSE_VERSION } from './clickhouse-store.ts';
