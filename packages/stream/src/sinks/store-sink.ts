import type { Row, Store, TableDefinition } from '@tracklane/storage';
import type { Sink } from './sink.ts';

/**
 * Upserts items as rows of a projection table. Idempotent by the table's primary key, which is what turns
 * the engine's at-least-once writes into exactly-once results: a window's row is replaced by its newest
 * total, however often it is written.
 */
export function storeSink<T>(store: Store, table: TableDefinition, toRow: (item: T) => Row): Sink<T> {
  const key = (row: Row) => JSON.stringify(table.primaryKey.map((c) => row[c]));
  return {
    open: () => store.defineTable(table),
    async write(items) {
      // One upsert call per batch, last write per key wins, so no store sees a key twice in one statement.
      const rows = new Map<string, Row>();
      for (const item of items) {
        const row = toRow(item);
        rows.set(key(row), row);
      }
      if (rows.size > 0) await store.upsert(table.name, [...rows.values()]);
    },
  };
}
