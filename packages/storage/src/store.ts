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
  /**
   * An `int` column (listed in `columns`, not in the key) that orders the writes of one key: an upsert
   * replaces a stored row only when its version is at least the stored one, so a result delivered late or
   * twice (an at-least-once writer retrying an older batch) never overwrites a newer one. Rows stored
   * before the column existed have no version and lose to any versioned write.
   */
  version?: string;
}

/** Column name -> accepted values; a row matches when every named column holds one of its values. */
export type RowFilter = Record<string, QueryParam[]>;

export interface UpsertOptions {
  /**
   * Makes `rows` the complete set of rows matching this filter: stored rows that match it and whose
   * primary key is not among `rows` are deleted in the same write (on a versioned table, only those not
   * newer than the highest version in `rows`). How a projection retracts a row it no longer produces,
   * such as an in-progress session that merged into another.
   */
  replace?: RowFilter;
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

export type QueryParam = string | number | boolean | null;

export interface QueryOptions {
  maxRows?: number;
  timeoutMs?: number;
  /** Values for `$1`, `$2`, ... placeholders: user input reaches SQL only this way, never spliced in. */
  params?: QueryParam[];
}

/** A raw event as stored: timestamps as UTC ISO strings, JSON columns as JSON text. */
export interface StoredEventRow {
  message_id: string;
  type: string;
  event: string | null;
  name: string | null;
  anonymous_id: string | null;
  user_id: string | null;
  group_id: string | null;
  previous_id: string | null;
  timestamp: string;
  sent_at: string | null;
  received_at: string;
  source_id: string;
  properties: string | null;
  traits: string | null;
  context: string | null;
}

export interface EventRange {
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
}

export interface Erasure {
  /** Every id the person was known by (user id, stitched anonymous ids); all are now tombstoned. */
  ids: string[];
  eventsDeleted: number;
  /** Rows removed from identities, projections and dead letters. */
  derivedRowsDeleted: number;
}

/** The SQL an implementation's `query` speaks; the analytics query builder compiles for it. */
export type SqlDialectName = 'duckdb' | 'postgres' | 'clickhouse';

export interface Store {
  /** Which SQL `query` accepts (DuckDB's, PostgreSQL's or ClickHouse's). */
  readonly sqlDialect: SqlDialectName;
  /** Creates or upgrades the built-in schema (versioned migrations). */
  migrate(): Promise<void>;
  /**
   * Inserts raw events into `events` (one column per top-level field, JSON bags as JSON, plus `page_path`
   * and `is_bot` extracted for web analytics); an event whose messageId is already stored, or whose user/anonymous id is
   * tombstoned, is skipped. Links anonymous ids to user ids (identify, alias) for identity stitching.
   * Returns how many were new. ClickHouse counts a re-delivery it neither remembers nor looks up (past the
   * first lookups after opening, e.g. a partition taken over from a crashed processor) as new: the row is
   * written again and read once (ReplacingMergeTree + FINAL), so only this count differs.
   */
  insertEvents(events: TrackedEvent[]): Promise<number>;
  insertDeadLetters(letters: DeadLetter[]): Promise<void>;
  /**
   * Creates a projection table if missing, and adds the columns of `table` that an existing one lacks
   * (as nullable columns, e.g. a version column added by a newer release).
   */
  defineTable(table: TableDefinition): Promise<void>;
  /**
   * Inserts or replaces rows by the table's primary key (by version too, see `TableDefinition.version`),
   * atomically for the whole call.
   */
  upsert(table: string, rows: Row[], options?: UpsertOptions): Promise<void>;
  /** Atomically replaces `target` with `source` (used by replay: rebuild aside, then swap in). */
  swapTable(source: string, target: string): Promise<void>;
  dropTable(table: string): Promise<void>;
  /**
   * Removes every event of a person (by user id and every anonymous id stitched to it, plus `knownIds`),
   * their derived rows, and tombstones those ids so that `insertEvents` skips their events from then on
   * (a replayed log cannot bring them back). Idempotent.
   */
  eraseUser(userId: string, knownIds?: string[]): Promise<Erasure>;
  /** Retention: deletes raw events older than `cutoff` (epoch ms). Returns how many were deleted. */
  deleteEventsBefore(cutoff: number): Promise<number>;
  /**
   * Retention of derived rows (sessions, aggregates, dead letters): deletes the rows of `table` whose
   * timestamp `column` is before `cutoff` (epoch ms) and returns how many. A table or column that does not
   * exist deletes nothing (a projection that never ran). `events` is refused: use `deleteEventsBefore`.
   */
  deleteRowsBefore(table: string, column: string, cutoff: number): Promise<number>;
  /** Streams raw events in time order, in batches, for export; reads a consistent snapshot. */
  scanEvents(range: EventRange, batchRows?: number): AsyncIterable<StoredEventRow[]>;
  /** Runs one read-only SELECT; rejects writes, file access and multiple statements. */
  query(sql: string, options?: QueryOptions): Promise<QueryResult>;
  close(): Promise<void>;
}
