import { type ClickHouseClient, type ClickHouseSettings, createClient } from '@clickhouse/client';
import { type TrackedEvent, TracklaneError } from '@tracklane/core';
import {
  type CandidateLink,
  type ColumnType,
  checkVersionColumn,
  type DeadLetter,
  type Erasure,
  type EventRange,
  highestVersion,
  newestPerKey,
  type QueryOptions,
  type QueryResult,
  quoteIdentifier,
  type Row,
  type RowFilter,
  refuseRawEvents,
  resolveLinks,
  type Store,
  type StoredEventRow,
  type TableDefinition,
  type UpsertOptions,
} from '@tracklane/storage';
import { LRUCache } from 'lru-cache';
import { COMPAT_FUNCTIONS, MIGRATIONS } from './migrations.ts';
import { type Converter, converterFor } from './result-values.ts';
import { prepareReadOnlyQuery } from './sql-text.ts';
import { TombstoneCache, type Tombstoned } from './tombstone-cache.ts';

export interface ClickHouseStoreOptions {
  /** The store's own client (writes, DDL); or `url` to have one created. The store closes it. */
  client?: ClickHouseClient;
  /** e.g. `http://user:password@127.0.0.1:8123/tracklane`. */
  url?: string;
  /**
   * Optional client for `query`, e.g. logged in as a user whose profile is `readonly=1` with constraints.
   * Without it, `query` uses `client` with per-query `readonly=1`, which no statement can lift.
   */
  queryClient?: ClickHouseClient;
  /** Default time limit for `query`. */
  queryTimeoutMs?: number;
  /** Default row limit for `query`. */
  maxRows?: number;
  /**
   * Create the DuckDB-named SQL functions (strftime, json_extract, json_extract_string) on the server.
   * They are server-wide and need the CREATE FUNCTION grant; true unless told.
   */
  compatFunctions?: boolean;
  /**
   * How many events after opening have their message ids looked up in `events` when this store has not
   * written them itself (see insertEvents); 20,000 unless told.
   */
  idLookupsAfterOpen?: number;
}

/** The oldest release with everything used here: DateTime64, JSON_VALUE, SQL UDFs, the `final` setting. */
export const MIN_CLICKHOUSE_VERSION = [23, 3] as const;

const SQL_TYPES: Record<ColumnType, string> = {
  string: 'String',
  int: 'Int64',
  float: 'Float64',
  bool: 'Bool',
  timestamp: "DateTime64(3, 'UTC')",
  json: 'String',
};

const BUILTIN_TABLES = ['events', 'identities', 'tombstones', 'dead_letters', 'schema_migrations'];

/** Ids remembered as written by this store: 100 writer batches of 2,000, a few MB. */
const RECENT_IDS = 200_000;
/**
 * A restarted writer is first re-delivered what it had written but not committed: the log's uncommitted
 * tail, at most a poll (2,000 records) per partition it owned. Ids of that many events after opening are
 * looked up, so those are counted as not new.
 */
const ID_LOOKUPS_AFTER_OPEN = 20_000;
/** Ids remembered as linked: a person's anonymous ids recur in every batch they send events in. */
const LINKED_IDS = 200_000;

/** Mutations (erasure, retention) return only once applied, so the next read sees them. */
const SYNC_MUTATION: ClickHouseSettings = { mutations_sync: '2' };

interface EventRow {
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
  page_path: string | null;
  is_bot: boolean | null;
}

/**
 * The Store on ClickHouse. Writes of one process are serialized; several processes may write at once.
 *
 * Exactly-once by message id rests on the table, not on a lookup before each insert: `events` is a
 * ReplacingMergeTree keyed by (day, message id) and every read (query, scan, counts before deletes) uses
 * FINAL, so an event written twice (racing writers, or a batch re-delivered to another process after a
 * crash) is read once, and merges drop the copy. insertEvents skips without asking the server the ids this
 * store wrote lately, and looks ids up only in its first batches after opening (a restart's re-delivery),
 * so its returned count is exact there; a re-delivery it neither remembers nor looks up is written again,
 * read once, and counted. Erased ids (tombstones) and identity links are checked on every batch.
 */
export class ClickHouseStore implements Store {
  readonly sqlDialect = 'clickhouse' as const;
  readonly #client: ClickHouseClient;
  readonly #queryClient: ClickHouseClient | undefined;
  readonly #options: { queryTimeoutMs: number; maxRows: number; compatFunctions: boolean };
  #idLookupsLeft: number;
  readonly #tables = new Map<string, TableDefinition>();
  #writeChain: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Message ids this store wrote lately: a re-delivery of one is skipped without asking the server. */
  readonly #recentIds = new LRUCache<string, true>({ max: RECENT_IDS });
  /** Ids this store saw linked in `identities`; first link wins, so they need no lookup again. */
  readonly #linkedIds = new LRUCache<string, true>({ max: LINKED_IDS });
  readonly #tombstones = new TombstoneCache();

  private constructor(client: ClickHouseClient, options: ClickHouseStoreOptions) {
    this.#client = client;
    this.#queryClient = options.queryClient;
    this.#options = {
      queryTimeoutMs: options.queryTimeoutMs ?? 10_000,
      maxRows: options.maxRows ?? 10_000,
      compatFunctions: options.compatFunctions ?? true,
    };
    this.#idLookupsLeft = options.idLookupsAfterOpen ?? ID_LOOKUPS_AFTER_OPEN;
  }

  /** Connects, checks the server version and migrates. */
  static async open(options: ClickHouseStoreOptions): Promise<ClickHouseStore> {
    const client = options.client ?? createClient({ url: options.url ?? 'http://127.0.0.1:8123' });
    const store = new ClickHouseStore(client, options);
    try {
      await store.#checkVersion();
      await store.migrate();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  migrate(): Promise<void> {
    return this.#serialize(async () => {
      await this.#command(
        `CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, description String, applied_at DateTime)
         ENGINE = ReplacingMergeTree ORDER BY version`,
      );
      const done = new Set(
        (await this.#select<{ version: number }>('SELECT version FROM schema_migrations FINAL')).map((r) =>
          Number(r.version),
        ),
      );
      for (const migration of MIGRATIONS) {
        if (done.has(migration.version)) continue;
        for (const statement of migration.statements) await this.#command(statement);
        if (migration.relinkIdentities === true) await this.#relinkIdentities();
        await this.#client.insert({
          table: 'schema_migrations',
          values: [
            { version: migration.version, description: migration.description, applied_at: nowSeconds() },
          ],
          format: 'JSONEachRow',
        });
      }
      for (const statement of this.#options.compatFunctions ? COMPAT_FUNCTIONS : []) {
        // Another store on the same server may have created it between IF NOT EXISTS and here.
        await this.#command(statement).catch((err: unknown) => {
          if (!/already exists/i.test(String(err))) throw err;
        });
      }
    });
  }

  insertEvents(events: TrackedEvent[]): Promise<number> {
    if (events.length === 0) return Promise.resolve(0);
    return this.#serialize(async () => {
      const batch = new Map<string, EventRow>();
      for (const e of events) if (!batch.has(e.messageId)) batch.set(e.messageId, toEventRow(e));
      const staged = [...batch.values()];
      const tombstoned = await this.#extendTombstones(staged);
      const isErased = (r: EventRow) =>
        tombstoned.size > 0 &&
        (tombstoned.has(r.user_id ?? '') ||
          tombstoned.has(r.anonymous_id ?? '') ||
          tombstoned.has(r.previous_id ?? ''));
      const existing = await this.#storedIds(staged);
      const fresh = staged.filter((r) => !existing.has(r.message_id) && !isErased(r));
      if (fresh.length > 0)
        await this.#client.insert({ table: 'events', values: fresh, format: 'JSONEachRow' });
      for (const r of fresh) this.#recentIds.set(r.message_id, true);
      await this.#linkIdentities(tombstoned.size > 0 ? staged.filter((r) => !isErased(r)) : staged);
      return fresh.length;
    });
  }

  insertDeadLetters(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return Promise.resolve();
    return this.#serialize(async () => {
      const byId = new Map(letters.map((l) => [l.id, l]));
      const existing = new Set(
        (
          await this.#select<{ id: string }>('SELECT id FROM dead_letters WHERE id IN {ids:Array(String)}', {
            ids: [...byId.keys()],
          })
        ).map((r) => r.id),
      );
      const rows = [...byId.values()]
        .filter((l) => !existing.has(l.id))
        .map((l) => ({
          id: l.id,
          stage: l.stage,
          reason: l.reason,
          payload: l.payload,
          source_id: l.sourceId ?? null,
          message_id: l.messageId ?? null,
          failed_at: toChTime(l.failedAt),
        }));
      if (rows.length > 0)
        await this.#client.insert({ table: 'dead_letters', values: rows, format: 'JSONEachRow' });
    });
  }

  defineTable(table: TableDefinition): Promise<void> {
    checkVersionColumn(table);
    return this.#serialize(async () => {
      await this.#command(projectionDdl(table, table.name));
      const have = new Set(
        (
          await this.#select<{ name: string }>(
            'SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {t:String}',
            { t: table.name },
          )
        ).map((r) => r.name),
      );
      // A table made by an older release lacks columns added since. A version column also changes the
      // engine (ReplacingMergeTree's version is fixed at creation), so the table is rebuilt: its rows are
      // copied into a new one, which EXCHANGE swaps in atomically.
      if (table.columns.some((c) => !have.has(c.name))) {
        const upgrade = `${table.name}__upgrade`;
        const kept = table.columns.filter((c) => have.has(c.name)).map((c) => quoteIdentifier(c.name));
        await this.#command(`DROP TABLE IF EXISTS ${quoteIdentifier(upgrade)} SYNC`);
        await this.#command(projectionDdl(table, upgrade));
        await this.#command(
          `INSERT INTO ${quoteIdentifier(upgrade)} (${kept.join(', ')}) SELECT ${kept.join(', ')} FROM ${quoteIdentifier(table.name)} FINAL`,
        );
        await this.#command(`EXCHANGE TABLES ${quoteIdentifier(upgrade)} AND ${quoteIdentifier(table.name)}`);
        await this.#command(`DROP TABLE ${quoteIdentifier(upgrade)} SYNC`);
      }
      this.#tables.set(table.name, table);
    });
  }

  upsert(table: string, rows: Row[], options: UpsertOptions = {}): Promise<void> {
    const definition = this.#tables.get(table);
    if (definition === undefined) {
      return Promise.reject(
        new TracklaneError('E_BAD_ARGUMENT', `table '${table}' is not defined: call defineTable first`),
      );
    }
    if (rows.length === 0 && options.replace === undefined) return Promise.resolve();
    // One insert gets one server-time version for all its rows on an unversioned table: a key twice in
    // one call must be settled here (newest, else last, wins).
    const converted = rows.map((row) => {
      const out: Record<string, unknown> = {};
      for (const column of definition.columns) out[column.name] = toChValue(row[column.name], column.type);
      if (definition.version !== undefined) out[definition.version] ??= 0;
      return out;
    });
    const unique = newestPerKey(definition, converted, (row) =>
      JSON.stringify(definition.primaryKey.map((k) => row[k])),
    );
    return this.#serialize(async () => {
      quoteIdentifier(table);
      // ReplacingMergeTree keeps the highest version of a key (the last inserted on a tie), and reads use
      // FINAL, so an older row inserted late is simply never the one seen.
      if (unique.length > 0) await this.#client.insert({ table, values: unique, format: 'JSONEachRow' });
      if (options.replace !== undefined) {
        const deletion = deleteOthersCondition(definition, unique, options.replace);
        if (deletion !== undefined) await this.#deleteWhere(table, deletion.condition, deletion.params);
      }
    });
  }

  swapTable(source: string, target: string): Promise<void> {
    return this.#serialize(async () => {
      const exists = await this.#select<{ n: number }>(
        'SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = {t:String}',
        { t: target },
      );
      if (Number(exists[0]?.n ?? 0) > 0) {
        // EXCHANGE is atomic: readers see the old table or the new one, never neither.
        await this.#command(`EXCHANGE TABLES ${quoteIdentifier(source)} AND ${quoteIdentifier(target)}`);
        await this.#command(`DROP TABLE ${quoteIdentifier(source)} SYNC`);
      } else {
        await this.#command(`RENAME TABLE ${quoteIdentifier(source)} TO ${quoteIdentifier(target)}`);
      }
      const definition = this.#tables.get(source);
      if (definition !== undefined) {
        this.#tables.delete(source);
        this.#tables.set(target, { ...definition, name: target });
      }
    });
  }

  dropTable(table: string): Promise<void> {
    return this.#serialize(async () => {
      await this.#command(`DROP TABLE IF EXISTS ${quoteIdentifier(table)} SYNC`);
      this.#tables.delete(table);
    });
  }

  eraseUser(userId: string, knownIds: string[] = []): Promise<Erasure> {
    return this.#serialize(async () => {
      // The whole person, whichever of their ids was given: every id linked to the same root.
      const [linked] = await this.#select<{ root: string }>(
        'SELECT person_id AS root FROM identities FINAL WHERE distinct_id = {u:String}',
        { u: userId },
      );
      const root = linked?.root ?? userId;
      const found = await this.#select<{ id: string }>(
        `SELECT distinct_id AS id FROM identities FINAL WHERE person_id = {root:String}
         UNION DISTINCT SELECT {root:String}
         UNION DISTINCT SELECT assumeNotNull(anonymous_id) FROM events WHERE user_id = {u:String} AND anonymous_id IS NOT NULL
         UNION DISTINCT SELECT assumeNotNull(previous_id) FROM events WHERE user_id = {u:String} AND previous_id IS NOT NULL
         UNION DISTINCT SELECT distinct_id FROM tombstones FINAL WHERE erased_for = {u:String}`,
        { u: userId, root },
      );
      const ids = new Set<string>([userId, ...knownIds]);
      for (const row of found) ids.add(row.id);
      const list = [...ids].sort();
      // Tombstones first: from here on insertEvents keeps this person's events out, so nothing slips in
      // between the deletes below.
      await this.#client.insert({
        table: 'tombstones',
        values: list.map((id) => ({ distinct_id: id, erased_for: userId, erased_at: toChTime(Date.now()) })),
        format: 'JSONEachRow',
      });
      const params = { ids: list, quoted: list.map((id) => `"${id}"`) };
      const personEvents =
        'user_id IN {ids:Array(String)} OR anonymous_id IN {ids:Array(String)} OR previous_id IN {ids:Array(String)}';
      const messageIds = (
        await this.#select<{ message_id: string }>(
          `SELECT message_id FROM events WHERE ${personEvents}`,
          params,
        )
      ).map((r) => r.message_id);
      let derived = await this.#deleteWhere(
        'dead_letters',
        `message_id IN {messages:Array(String)} OR arrayExists(q -> position(payload, q) > 0, {quoted:Array(String)})`,
        { ...params, messages: messageIds },
      );
      const eventsDeleted = await this.#deleteWhere('events', personEvents, params);
      derived += await this.#deleteWhere(
        'identities',
        'distinct_id IN {ids:Array(String)} OR person_id IN {ids:Array(String)}',
        params,
      );
      // Projections are found by their person columns, including tables another process defined.
      const columns = await this.#select<{ table: string; name: string }>(
        `SELECT c.table AS table, c.name AS name FROM system.columns c
         JOIN system.tables t ON t.database = c.database AND t.name = c.table
         WHERE c.database = currentDatabase() AND t.engine LIKE '%MergeTree'
           AND c.name IN ('user_id', 'anonymous_id', 'person_id', 'distinct_id')
           AND c.table NOT IN {builtin:Array(String)}`,
        { builtin: BUILTIN_TABLES },
      );
      for (const { table, name } of columns) {
        derived += await this.#deleteWhere(table, `${quoteIdentifier(name)} IN {ids:Array(String)}`, params);
      }
      // Their links are gone; their ids are tombstoned, so nothing would use the entries, but they are wrong.
      this.#linkedIds.clear();
      this.#tombstones.invalidate();
      return { ids: list, eventsDeleted, derivedRowsDeleted: derived };
    });
  }

  deleteRowsBefore(table: string, column: string, cutoff: number): Promise<number> {
    try {
      refuseRawEvents(table);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#serialize(async () => {
      const [found] = await this.#select<{ n: number }>(
        'SELECT count() AS n FROM system.columns WHERE database = currentDatabase() AND table = {t:String} AND name = {c:String}',
        { t: table, c: column },
      );
      if (Number(found?.n ?? 0) === 0) return 0;
      if (table === 'identities') this.#linkedIds.clear();
      return this.#deleteWhere(table, `${quoteIdentifier(column)} < {at:DateTime64(3, 'UTC')}`, {
        at: toChTime(cutoff),
      });
    });
  }

  deleteEventsBefore(cutoff: number): Promise<number> {
    return this.#serialize(async () => {
      // A deleted event delivered again is stored again, as on the other stores.
      this.#recentIds.clear();
      const at = toChTime(cutoff);
      const [{ n }] = (await this.#select<{ n: number }>(
        `SELECT count() AS n FROM events FINAL WHERE timestamp < {at:DateTime64(3, 'UTC')}`,
        { at },
      )) as [{ n: number }];
      // Whole months before the cutoff go as partitions: no mutation rewriting parts.
      const partitions = await this.#select<{ id: string }>(
        `SELECT DISTINCT partition_id AS id FROM system.parts
         WHERE database = currentDatabase() AND table = 'events' AND active`,
      );
      for (const { id } of partitions) {
        const year = Number(id.slice(0, 4));
        const month = Number(id.slice(4, 6));
        if (!Number.isInteger(year) || !Number.isInteger(month) || id.length !== 6) continue;
        if (Date.UTC(year, month, 1) <= cutoff) {
          await this.#command(`ALTER TABLE events DROP PARTITION ID '${id}'`);
        }
      }
      await this.#command(
        `ALTER TABLE events DELETE WHERE timestamp < {at:DateTime64(3, 'UTC')}`,
        { at },
        SYNC_MUTATION,
      );
      return Number(n);
    });
  }

  async *scanEvents(range: EventRange, batchRows = 10_000): AsyncIterable<StoredEventRow[]> {
    this.#assertOpen();
    // One SELECT reads one set of parts from start to end: a consistent snapshot, however slow the consumer.
    const result = await this.#client.query({
      query: `SELECT message_id, type, event, name, anonymous_id, user_id, group_id, previous_id,
                     toUnixTimestamp64Milli(timestamp) AS ts, toUnixTimestamp64Milli(sent_at) AS sent,
                     toUnixTimestamp64Milli(received_at) AS received, source_id, properties, traits, context
              FROM events FINAL
              WHERE timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
              ORDER BY timestamp, message_id`,
      query_params: { from: toChTime(range.from ?? 0), to: toChTime(range.to ?? Date.UTC(9999, 0, 1)) },
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    let batch: StoredEventRow[] = [];
    for await (const rows of result.stream<Record<string, unknown>>()) {
      for (const row of rows) {
        const r = row.json<Record<string, unknown>>();
        batch.push({
          message_id: String(r.message_id),
          type: String(r.type),
          event: (r.event as string | null) ?? null,
          name: (r.name as string | null) ?? null,
          anonymous_id: (r.anonymous_id as string | null) ?? null,
          user_id: (r.user_id as string | null) ?? null,
          group_id: (r.group_id as string | null) ?? null,
          previous_id: (r.previous_id as string | null) ?? null,
          timestamp: new Date(Number(r.ts)).toISOString(),
          sent_at: r.sent === null ? null : new Date(Number(r.sent)).toISOString(),
          received_at: new Date(Number(r.received)).toISOString(),
          source_id: String(r.source_id),
          properties: (r.properties as string | null) ?? null,
          traits: (r.traits as string | null) ?? null,
          context: (r.context as string | null) ?? null,
        });
        if (batch.length >= batchRows) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  async query(sql: string, options: QueryOptions = {}): Promise<QueryResult> {
    this.#assertOpen();
    const prepared = prepareReadOnlyQuery(sql, options.params);
    const maxRows = options.maxRows ?? this.#options.maxRows;
    const timeoutMs = Math.max(1, options.timeoutMs ?? this.#options.queryTimeoutMs);
    // A backstop for a server that does not stop on its own (or a lost connection).
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs + 5_000);
    try {
      const result = await (this.#queryClient ?? this.#client).query({
        query: prepared.sql,
        query_params: prepared.params,
        format: 'JSONCompactEachRowWithNamesAndTypes',
        abort_signal: abort.signal,
        // readonly last: settings are applied in order, and nothing can be changed after it.
        clickhouse_settings: {
          // Projections and racing writes leave rows that only FINAL collapses; exact answers need it.
          final: 1,
          max_execution_time: timeoutMs / 1000,
          timeout_overflow_mode: 'throw',
          max_result_rows: String(maxRows + 1),
          result_overflow_mode: 'break',
          date_time_output_format: 'iso',
          // Outer joins give NULL, not the type's default, for a missing side: SQL as DuckDB and PostgreSQL read it.
          join_use_nulls: 1,
          // Likewise the columns a GROUPING SETS row rolls up are NULL, not the type's default.
          group_by_use_nulls: 1,
          // Quoted so JSON.parse keeps all 64 bits; result-values.ts unquotes the safe ones.
          output_format_json_quote_64bit_integers: 1,
          readonly: '1',
        } as ClickHouseSettings,
      });
      let names: string[] | undefined;
      let converters: Converter[] = [];
      const rows: unknown[][] = [];
      let truncated = false;
      read: for await (const chunk of result.stream<unknown[]>()) {
        for (const row of chunk) {
          const values = row.json<unknown[]>();
          if (names === undefined) {
            names = values.map(String);
          } else if (converters.length === 0 && names.length > 0) {
            converters = values.map((t) => converterFor(String(t)));
          } else if (rows.length >= maxRows) {
            truncated = true;
            break read;
          } else {
            rows.push(values.map((v, i) => (converters[i] === undefined ? v : converters[i]!(v))));
          }
        }
      }
      return { columns: names ?? [], rows, truncated };
    } catch (err) {
      throw toQueryError(err, timeoutMs, abort.signal.aborted);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#writeChain;
    this.#closed = true;
    await this.#client.close();
    await this.#queryClient?.close();
  }

  async #checkVersion(): Promise<void> {
    const [row] = await this.#select<{ v: string }>('SELECT version() AS v');
    const [major = 0, minor = 0] = String(row?.v ?? '0')
      .split('.')
      .map(Number);
    const [minMajor, minMinor] = MIN_CLICKHOUSE_VERSION;
    if (major < minMajor || (major === minMajor && minor < minMinor)) {
      throw new TracklaneError(
        'E_CONFIG',
        `ClickHouse ${row?.v} is too old for the Tracklane store: it needs ${minMajor}.${minMinor} or later (DateTime64, JSON_VALUE, SQL functions, the final setting)`,
      );
    }
  }

  /** A tombstoned person's events that still arrive reveal anonymous ids the erasure could not know:
   * tombstone those too and remove what was stored under them. Returns every tombstoned id of the batch. */
  async #extendTombstones(staged: EventRow[]): Promise<Tombstoned> {
    const tombstoned = await this.#tombstones.lookup((q, p) => this.#select(q, p), personIds(staged));
    if (tombstoned.size === 0) return tombstoned;
    const revealed = new Map<string, string>();
    for (const r of staged) {
      const erasedFor = r.user_id === null ? undefined : tombstoned.get(r.user_id);
      if (erasedFor === undefined) continue;
      for (const id of [r.anonymous_id, r.previous_id]) {
        if (id !== null && !tombstoned.has(id)) revealed.set(id, erasedFor);
      }
    }
    if (revealed.size === 0) return tombstoned;
    this.#tombstones.invalidate();
    await this.#client.insert({
      table: 'tombstones',
      values: [...revealed].map(([id, erasedFor]) => ({
        distinct_id: id,
        erased_for: erasedFor,
        erased_at: toChTime(Date.now()),
      })),
      format: 'JSONEachRow',
    });
    const params = { ids: [...revealed.keys()] };
    await this.#deleteWhere(
      'events',
      'anonymous_id IN {ids:Array(String)} OR user_id IN {ids:Array(String)}',
      params,
    );
    await this.#deleteWhere('identities', 'distinct_id IN {ids:Array(String)}', params);
    for (const [id, erasedFor] of revealed) tombstoned.set(id, erasedFor);
    return tombstoned;
  }

  /**
   * Message ids of `staged` known to be in `events`: those this store wrote lately, and in the first
   * batches after opening, those the server holds. A lookup sends every id and reads the message_id column
   * of every part (its bloom filter cannot prune for 2,000 ids), which is why it is not done on every batch
   * (see the class comment).
   */
  async #storedIds(staged: EventRow[]): Promise<Set<string>> {
    const stored = new Set<string>();
    const unknown: string[] = [];
    for (const r of staged) {
      if (this.#recentIds.has(r.message_id)) stored.add(r.message_id);
      else unknown.push(r.message_id);
    }
    if (unknown.length === 0 || this.#idLookupsLeft <= 0) return stored;
    this.#idLookupsLeft -= unknown.length;
    const found = await this.#select<{ message_id: string }>(
      'SELECT message_id FROM events WHERE message_id IN {ids:Array(String)}',
      { ids: unknown },
    );
    for (const r of found) stored.add(r.message_id);
    return stored;
  }

  /**
   * The batch's identity links (identify: anonymous id -> user id; alias: previous id -> user id), resolved
   * through alias chains by the same resolver as DuckDB's store, so every row points at its person's root.
   * Writes of one store are serialized, so each batch resolves against the links stored before it.
   */
  async #linkIdentities(staged: EventRow[]): Promise<void> {
    // Each distinct (id, person) pair once, at its first time. Ids this store saw linked are out without
    // a lookup (first link wins, and only erasure removes a link: an erased person's ids are tombstoned,
    // so their events never get here).
    const pairs = new Map<string, CandidateLink>();
    const consider = (id: string | null, r: EventRow) => {
      if (id === null || r.user_id === null || id === r.user_id || this.#linkedIds.has(id)) return;
      const key = `${id}\u0000${r.user_id}`;
      const known = pairs.get(key);
      if (known === undefined || r.timestamp < known.linkedAt) {
        pairs.set(key, { distinctId: id, personId: r.user_id, linkedAt: r.timestamp, storedRoot: null });
      }
    };
    for (const r of staged) {
      if (r.user_id === null) continue;
      consider(r.anonymous_id, r);
      if (r.type === 'alias') consider(r.previous_id, r);
    }
    if (pairs.size === 0) return;
    const candidates = [...pairs.values()];
    const stored = await this.#select<{ distinct_id: string; person_id: string }>(
      'SELECT distinct_id, person_id FROM identities FINAL WHERE distinct_id IN {ids:Array(String)}',
      { ids: [...new Set(candidates.flatMap((c) => [c.distinctId, c.personId]))] },
    );
    const roots = new Map(stored.map((r) => [r.distinct_id, r.person_id]));
    for (const id of roots.keys()) this.#linkedIds.set(id, true);
    // Ids already linked are out (first link wins).
    const fresh = inResolveOrder(
      candidates
        .filter((c) => !roots.has(c.distinctId))
        .map((c) => ({ ...c, storedRoot: roots.get(c.personId) ?? null })),
    );
    if (fresh.length === 0) return;
    const { inserts, moves } = resolveLinks(fresh);
    // Stored rows pointing at an id that is now linked follow it to its root (person_key is MATERIALIZED,
    // so the mutation recomputes it). A mutation rewrites parts, so it runs only when such rows exist,
    // which is rare: a newly linked id is usually an anonymous id nothing points at. (Without FINAL: an
    // outdated row found too only costs an unneeded mutation.)
    const pointed =
      moves.size === 0
        ? []
        : (
            await this.#select<{ person_id: string }>(
              'SELECT DISTINCT person_id FROM identities WHERE person_id IN {from:Array(String)}',
              { from: [...moves.keys()] },
            )
          ).map((r) => r.person_id);
    if (pointed.length > 0) {
      await this.#command(
        `ALTER TABLE identities UPDATE person_id = transform(person_id, {from:Array(String)}, {to:Array(String)}, person_id)
         WHERE person_id IN {from:Array(String)}`,
        { from: pointed, to: pointed.map((id) => moves.get(id) ?? id) },
        SYNC_MUTATION,
      );
    }
    await this.#client.insert({
      table: 'identities',
      values: inserts.map((l) => ({
        distinct_id: l.distinctId,
        person_id: l.personId,
        linked_at: l.linkedAt,
      })),
      format: 'JSONEachRow',
    });
    for (const l of inserts) this.#linkedIds.set(l.distinctId, true);
  }

  /**
   * Links stored one level deep by older releases (a -> b, b -> c) replayed in time order through the
   * resolver, so every row points at its person's root, as DuckDB's store does. Written to a copy that
   * EXCHANGE swaps in, so an interrupted run loses nothing and simply runs again on the next open.
   */
  async #relinkIdentities(): Promise<void> {
    const stored = await this.#select<{ distinct_id: string; person_id: string; linked_at: string }>(
      'SELECT distinct_id, person_id, toString(linked_at) AS linked_at FROM identities FINAL',
    );
    const { inserts } = resolveLinks(
      inResolveOrder(
        stored.map((r) => ({
          distinctId: r.distinct_id,
          personId: r.person_id,
          linkedAt: r.linked_at,
          storedRoot: null,
        })),
      ),
    );
    // A name of this run's own: processes opening the store at once each relink into their own copy (both
    // resolved from the same links, so whichever EXCHANGE lands last leaves the same rows).
    const copy = quoteIdentifier(`identities_relink_${process.pid}_${Date.now()}`);
    await this.#command(`CREATE TABLE ${copy} AS identities`);
    if (inserts.length > 0) {
      await this.#client.insert({
        table: copy,
        values: inserts.map((l) => ({
          distinct_id: l.distinctId,
          person_id: l.personId,
          linked_at: l.linkedAt,
        })),
        format: 'JSONEachRow',
      });
    }
    await this.#command(`EXCHANGE TABLES ${copy} AND identities`);
    await this.#command(`DROP TABLE ${copy} SYNC`);
  }

  /** Deletes matching rows (a synchronous mutation) and returns how many there were. */
  async #deleteWhere(table: string, condition: string, params: Record<string, unknown>): Promise<number> {
    const name = quoteIdentifier(table);
    const [row] = await this.#select<{ n: number }>(
      `SELECT count() AS n FROM ${name} FINAL WHERE ${condition}`,
      params,
    );
    const n = Number(row?.n ?? 0);
    if (n > 0) await this.#command(`ALTER TABLE ${name} DELETE WHERE ${condition}`, params, SYNC_MUTATION);
    return n;
  }

  async #select<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    try {
      const result = await this.#client.query({
        query,
        query_params: params,
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      });
      return await result.json<T>();
    } catch (err) {
      throw toStoreError(err);
    }
  }

  async #command(
    query: string,
    params: Record<string, unknown> = {},
    settings: ClickHouseSettings = {},
  ): Promise<void> {
    try {
      await this.#client.command({ query, query_params: params, clickhouse_settings: settings });
    } catch (err) {
      throw toStoreError(err);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new TracklaneError('E_NOT_READY', 'the store is closed');
  }

  #serialize<T>(operation: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    const next = this.#writeChain.then(operation, operation);
    this.#writeChain = next.catch(() => undefined);
    return next;
  }
}

/** `YYYY-MM-DD hh:mm:ss.sss` in UTC, which DateTime64(3, 'UTC') parses in every input format. */
function toChTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, -1);
}

function nowSeconds(): string {
  return toChTime(Date.now()).slice(0, 19);
}

function isoToChTime(iso: string | undefined): string | null {
  if (iso === undefined) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : toChTime(ms);
}

function json(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

/** As DuckDB's json_extract_string: scalars as text, objects as JSON text, absent as null. */
function jsonText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** The batch's user, anonymous and previous ids (repeats included), read only if tombstones exist. */
function* personIds(staged: EventRow[]): Generator<string> {
  for (const r of staged) {
    if (r.user_id !== null) yield r.user_id;
    if (r.anonymous_id !== null) yield r.anonymous_id;
    if (r.previous_id !== null) yield r.previous_id;
  }
}

function toEventRow(e: TrackedEvent): EventRow {
  const r = e as Record<string, unknown>;
  const context = e.context as Record<string, Record<string, unknown> | undefined> | undefined;
  const properties = r.properties as Record<string, unknown> | undefined;
  const tracklane = context?.tracklane as Record<string, Record<string, unknown> | undefined> | undefined;
  const timestamp = isoToChTime(e.timestamp);
  const receivedAt = isoToChTime(e.receivedAt);
  if (timestamp === null || receivedAt === null) {
    throw new TracklaneError('E_BAD_ARGUMENT', `event ${e.messageId} has no valid timestamp or receivedAt`);
  }
  // Same page path and bot flag as DuckDB's PAGE_PATH and IS_BOT (null when the context says nothing).
  const bot = jsonText(tracklane?.bot);
  return {
    message_id: e.messageId,
    type: e.type,
    event: (r.event as string | undefined) ?? null,
    name: (r.name as string | undefined) ?? null,
    anonymous_id: e.anonymousId ?? null,
    user_id: e.userId ?? null,
    group_id: (r.groupId as string | undefined) ?? null,
    previous_id: (r.previousId as string | undefined) ?? null,
    timestamp,
    sent_at: isoToChTime(e.sentAt),
    received_at: receivedAt,
    source_id: e.sourceId,
    properties: json(r.properties),
    traits: json(r.traits),
    context: json(e.context),
    page_path:
      jsonText(context?.page?.path) ??
      jsonText(tracklane?.page?.path) ??
      (e.type === 'page' ? jsonText(properties?.path) : null),
    is_bot: bot === null ? null : bot === 'true',
  };
}

/**
 * A projection table. Unversioned: a hidden server-time `_version` makes the latest upsert of a key the
 * one ReplacingMergeTree keeps, across processes too. Versioned: the table's own version column (UInt64,
 * as the engine requires) decides instead, so a late older write loses. Key columns cannot be Nullable.
 */
function projectionDdl(table: TableDefinition, name: string): string {
  const columns = table.columns
    .map((c) => {
      if (c.name === table.version) return `${quoteIdentifier(c.name)} UInt64`;
      const type = SQL_TYPES[c.type];
      const nullable = c.nullable !== false && !table.primaryKey.includes(c.name);
      return `${quoteIdentifier(c.name)} ${nullable ? `Nullable(${type})` : type}`;
    })
    .join(', ');
  const key = table.primaryKey.map(quoteIdentifier).join(', ');
  if (table.version !== undefined) {
    return `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(name)} (${columns})
      ENGINE = ReplacingMergeTree(${quoteIdentifier(table.version)}) ORDER BY (${key})`;
  }
  return `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(name)} (${columns},
    _version UInt64 MATERIALIZED toUnixTimestamp64Nano(now64(9)))
    ENGINE = ReplacingMergeTree(_version) ORDER BY (${key})`;
}

/**
 * The `replace` half of upsert: a condition matching the rows of `filter` whose key `kept` does not hold
 * and that are not newer than `kept`. Undefined when the filter can match nothing.
 */
function deleteOthersCondition(
  table: TableDefinition,
  kept: Record<string, unknown>[],
  filter: RowFilter,
): { condition: string; params: Record<string, unknown> } | undefined {
  const params: Record<string, unknown> = {};
  const conditions: string[] = [];
  const typeOf = (name: string) => {
    const column = table.columns.find((c) => c.name === name);
    if (column === undefined) {
      throw new TracklaneError('E_BAD_ARGUMENT', `table '${table.name}' has no column '${name}'`);
    }
    return column.name === table.version ? 'UInt64' : SQL_TYPES[column.type];
  };
  let n = 0;
  for (const [name, accepted] of Object.entries(filter)) {
    if (accepted.length === 0) return undefined;
    const column = table.columns.find((c) => c.name === name);
    const p = `f${n++}`;
    params[p] = accepted.map((v) => toChValue(v, column?.type ?? 'string'));
    conditions.push(`${quoteIdentifier(name)} IN {${p}:Array(${typeOf(name)})}`);
  }
  if (kept.length > 0) {
    // One array per key column, zipped back into key tuples on the server.
    const arrays = table.primaryKey.map((k, i) => {
      params[`k${i}`] = kept.map((row) => row[k]);
      return `{k${i}:Array(${typeOf(k)})}`;
    });
    const tuple = `tuple(${table.primaryKey.map(quoteIdentifier).join(', ')})`;
    conditions.push(`NOT has(arrayZip(${arrays.join(', ')}), ${tuple})`);
  }
  if (table.version !== undefined) {
    const high = highestVersion(table, kept);
    if (Number.isFinite(high)) {
      params.high = high;
      conditions.push(`${quoteIdentifier(table.version)} <= {high:UInt64}`);
    }
  }
  return { condition: conditions.length === 0 ? '1' : conditions.join(' AND '), params };
}

function toChValue(value: unknown, type: ColumnType): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'timestamp': {
      const ms = typeof value === 'number' ? value : Date.parse(String(value));
      return Number.isNaN(ms) ? null : toChTime(ms);
    }
    case 'json':
      return JSON.stringify(value);
    case 'int':
      return typeof value === 'bigint' ? value.toString() : Math.trunc(Number(value));
    case 'float':
      return Number(value);
    case 'bool':
      return Boolean(value);
    default:
      return String(value);
  }
}

/** ClickHouse error codes that mean "not allowed here" rather than "wrong SQL". */
const READ_ONLY_CODES = new Set(['164', '497']);
const TIMEOUT_CODES = new Set(['159', '160']);

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function toStoreError(err: unknown): unknown {
  if (err instanceof TracklaneError || !(err instanceof Error)) return err;
  return new TracklaneError('E_SQL', err.message, { cause: err });
}

function toQueryError(err: unknown, timeoutMs: number, aborted: boolean): unknown {
  if (err instanceof TracklaneError) return err;
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (aborted || TIMEOUT_CODES.has(code ?? '')) {
    return new TracklaneError(
      'E_QUERY_TIMEOUT',
      `query exceeded ${timeoutMs} ms: narrow the time range or add a LIMIT`,
      {
        cause: err,
      },
    );
  }
  if (READ_ONLY_CODES.has(code ?? '') || /Multi-statements/i.test(message)) {
    return new TracklaneError(
      'E_READ_ONLY_SQL',
      `only read-only SELECT queries are allowed here: ${message}`,
      {
        cause: err,
      },
    );
  }
  return new TracklaneError('E_SQL', message, { cause: err });
}

/** Candidate links in the order the resolver takes them: by time, then by ids, as DuckDB's store orders
 * them, so ties resolve the same way on every store. */
function inResolveOrder(candidates: CandidateLink[]): CandidateLink[] {
  return candidates.sort(
    (x, y) =>
      compareBytes(x.linkedAt, y.linkedAt) ||
      compareBytes(x.distinctId, y.distinctId) ||
      compareBytes(x.personId, y.personId),
  );
}

/** Orders text by UTF-8 bytes, as DuckDB and ClickHouse compare strings (JS compares UTF-16 units). */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
