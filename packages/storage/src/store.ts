import type { TrackedEvent } from '@tracklane/core';

/**
 * Storage behind one small interface so DuckDB (embedded), ClickHouse and PostgreSQL are interchangeable.
 * Every write is idempotent: raw events dedupe on message id, projections upsert by primary key, so an
 * at-least-once consumer produces exactly-once results in storage.
 */

export type ColumnType = 'string' | 'int' | 'float' | 'bool' | 'timestamp' | 'json';

export interface ColumnDefinition {
  name: string;
  type: ColumnType;
  nullable?: boolean;
}

export interface TableDefinition {
  /** `^[a-z_][a-z0-9_]*$`; projections should not use the reserved names `events` and `dead_letters`. */
  name: string;
  columns: ColumnDefinition[];
  /** Upserts replace the row with the same primary key. */
  primaryKey: string[];
}

/** A row for `upsert`: timestamps as ISO strings or epoch ms numbers, json columns as any JSON value. */
export type Row = Record<string, unknown>;

export interface DeadLetter {
  /** Stable id (e.g. the dead-letter record's log position) so re-delivery stores it once. */
  id: string;
  /** Where the record failed: 'collector', 'storage', or a pipeline name. */
  stage: string;
  reason: string;
  /** The original payload as received (JSON text when it was JSON). */
  payload: string;
  sourceId?: string | null;
  messageId?: string | null;
  /** Epoch ms. */
  failedAt: number;
}

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  /** True when the row limit cut the result. */
  truncated: boolean;
}

export interface QueryOptions {
  maxRows?: number;
  timeoutMs?: number;
}

export interface Store {
  /** Creates or upgrades the built-in schema (versioned migrations). */
  migrate(): Promise<void>;
  /** Inserts raw events; an event whose messageId is already stored is skipped. Returns how many were new. */
  insertEvents(events: TrackedEvent[]): Promise<number>;
  insertDeadLetters(letters: DeadLetter[]): Promise<void>;
  /** Creates a projection table if missing. */
  defineTable(table: TableDefinition): Promise<void>;
  /** Inserts or replaces rows by the table's primary key, atomically for the whole call. */
  upsert(table: string, rows: Row[]): Promise<void>;
  /** Atomically replaces `target` with `source` (used by replay: rebuild aside, then swap in). */
  swapTable(source: string, target: string): Promise<void>;
  dropTable(table: string): Promise<void>;
  /** Runs one read-only SELECT; rejects writes, file access and multiple statements. */
  query(sql: string, options?: QueryOptions): Promise<QueryResult>;
  close(): Promise<void>;
}
