import type { Row, RowFilter, TableDefinition } from '@tracklane/storage';
import type { Sink, SinkContext } from './sink.ts';
import type { SinkStore } from './sink-store.ts';

export interface StoreSinkOptions<T> {
  /** See `Sink.openSessions`. */
  openSessions?: boolean;
  /** Makes each write the complete set of rows matching this filter (see `UpsertOptions.replace`). */
  replace?: (items: T[]) => RowFilter | undefined;
}

/**
 * Upserts items as rows of a projection table. Idempotent by the table's primary key, which is what turns
 * the engine's at-least-once writes into exactly-once results: a window's row is replaced by its newest
 * total, however often it is written. On a table with a version column (see `versioned`) each row also
 * carries the checkpoint's version, so an older write retried late cannot replace a newer one.
 */
export function storeSink<T>(
  store: SinkStore,
  table: TableDefinition,
  toRow: (item: T) => Row,
  options: StoreSinkOptions<T> = {},
): Sink<T> {
  const key = (row: Row) => JSON.stringify(table.primaryKey.map((c) => row[c]));
  return {
    open: () => store.defineTable(table),
    ...(options.openSessions === undefined ? {} : { openSessions: options.openSessions }),
    async write(items: T[], context: SinkContext) {
      // One upsert call per batch, last write per key wins, so no store sees a key twice in one statement.
      const rows = new Map<string, Row>();
      for (const item of items) {
        const row = toRow(item);
        if (table.version !== undefined) row[table.version] = context.version;
        rows.set(key(row), row);
      }
      const replace = options.replace?.(items);
      if (replace !== undefined) await store.upsert(table.name, [...rows.values()], { replace });
      else if (rows.size > 0) await store.upsert(table.name, [...rows.values()]);
    },
  };
}

export const VERSION_COLUMN = 'version';

/** The table with a `version` column that orders its writes (see `TableDefinition.version`). */
export function versioned(table: TableDefinition): TableDefinition {
  return {
    ...table,
    columns: [...table.columns, { name: VERSION_COLUMN, type: 'int' }],
    version: VERSION_COLUMN,
  };
}
