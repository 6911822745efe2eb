import { TracklaneError } from '@tracklane/core';
import type { Row, TableDefinition } from './store.ts';

/**
 * Keeps one row per key for a single upsert statement (stores refuse to touch one key twice in one): the
 * newest by the table's version column, the last given on a tie or when the table has none, which is
 * what the stored result would be had the rows been upserted one by one.
 */
export function newestPerKey(table: TableDefinition, rows: Row[], keyOf: (row: Row) => string): Row[] {
  const version = table.version;
  const byKey = new Map<string, Row>();
  for (const row of rows) {
    const key = keyOf(row);
    const previous = byKey.get(key);
    if (
      previous !== undefined &&
      version !== undefined &&
      versionOf(previous, version) > versionOf(row, version)
    )
      continue;
    byKey.set(key, row);
  }
  return [...byKey.values()];
}

/** The highest version among rows (for the guard on `replace` deletes); -Infinity if none has one. */
export function highestVersion(table: TableDefinition, rows: Row[]): number {
  let high = Number.NEGATIVE_INFINITY;
  if (table.version === undefined) return high;
  for (const row of rows) high = Math.max(high, versionOf(row, table.version));
  return high;
}

function versionOf(row: Row, column: string): number {
  const v = row[column];
  return v === null || v === undefined ? Number.NEGATIVE_INFINITY : Number(v);
}

/** Rejects a definition whose version column is missing, not an int, or part of the key. */
export function checkVersionColumn(table: TableDefinition): void {
  const name = table.version;
  if (name === undefined) return;
  const column = table.columns.find((c) => c.name === name);
  if (column === undefined || column.type !== 'int' || table.primaryKey.includes(name)) {
    throw new TracklaneError(
      'E_BAD_ARGUMENT',
      `table '${table.name}': version column '${name}' must be one of its int columns and not in the primary key`,
    );
  }
}
