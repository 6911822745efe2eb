import { existsSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  type DuckDBValue,
  StatementType,
} from '@duckdb/node-api';
import { type TrackedEvent, TracklaneError } from '@tracklane/core';
import { IDENTIFIER, quoteIdentifier } from '../identifiers.ts';
import { refuseRawEvents } from '../retention.ts';
import type {
  ColumnType,
  DeadLetter,
  Erasure,
  EventRange,
  QueryOptions,
  QueryResult,
  Row,
  RowFilter,
  Store,
  StoredEventRow,
  TableDefinition,
  UpsertOptions,
} from '../store.ts';
import { checkVersionColumn, highestVersion, newestPerKey } from '../versioned-rows.ts';
import { storeIdentityLinks } from './identity-links.ts';
import { KnownIds } from './known-ids.ts';
import { MIGRATIONS } from './migrations.ts';
import { EVENT_DISTINCT_ID, idKeySql } from './person-key.ts';
import { toJsonValue } from './to-json-value.ts';

export interface DuckDbStoreOptions {
  /** Default time limit for `query`. */
  queryTimeoutMs?: number;
  /** Default row limit for `query`. */
  maxRows?: number;
}

const SQL_TYPES: Record<ColumnType, string> = {
  string: 'VARCHAR',
  int: 'BIGINT',
  float: 'DOUBLE',
  bool: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  json: 'JSON',
};

const EVENT_COLUMNS = [
  'message_id',
  'type',
  'event',
  'name',
  'anonymous_id',
  'user_id',
  'group_id',
  'previous_id',
  'timestamp',
  'sent_at',
  'received_at',
  'source_id',
  'properties',
  'traits',
  'context',
] as const;

const ISO_FORMAT = '%Y-%m-%dT%H:%M:%S.%gZ';

/** Rows appended between two turns of the event loop (about 3 ms of work). */
const YIELD_EVERY_ROWS = 1_000;

/** The page an event happened on (Segment `context.page`, the collector's parsed URL, a page call's
 * `properties.path`), kept as a column because analytics reads it constantly. */
const PAGE_PATH = `coalesce(json_extract_string(s.context, '$.page.path'),
  json_extract_string(s.context, '$.tracklane.page.path'),
  CASE WHEN s.type = 'page' THEN json_extract_string(s.properties, '$.path') END)`;

/** Crawlers the collector flagged (`context.tracklane.bot`), excluded from visitor counts. */
const IS_BOT = `json_extract_string(s.context, '$.tracklane.bot') = 'true'`;

/** Staged events (alias `s`) of no erased person. */
const NOT_TOMBSTONED = `coalesce(s.user_id, '') NOT IN (SELECT distinct_id FROM tombstones)
  AND coalesce(s.anonymous_id, '') NOT IN (SELECT distinct_id FROM tombstones)
  AND coalesce(s.previous_id, '') NOT IN (SELECT distinct_id FROM tombstones)`;

/**
 * The embedded Store. One writer connection, used strictly one operation at a time (DuckDB transactions
 * are per connection); each read-only query gets its own short-lived connection so slow analytics never
 * block ingestion (DuckDB's MVCC gives readers a consistent snapshot).
 */
export class DuckDbStore implements Store {
  readonly sqlDialect = 'duckdb' as const;
  readonly #instance: DuckDBInstance;
  readonly #writer: DuckDBConnection;
  readonly #options: Required<DuckDbStoreOptions>;
  readonly #tables = new Map<string, TableDefinition>();
  readonly #known = new KnownIds();
  #writeChain: Promise<unknown> = Promise.resolve();
  #closed = false;
  readonly #readOnly: boolean;

  private constructor(
    instance: DuckDBInstance,
    writer: DuckDBConnection,
    options: DuckDbStoreOptions,
    readOnly = false,
  ) {
    this.#instance = instance;
    this.#writer = writer;
    this.#readOnly = readOnly;
    this.#options = { queryTimeoutMs: options.queryTimeoutMs ?? 10_000, maxRows: options.maxRows ?? 10_000 };
  }

  /** Opens (creating if needed) the database file at `path`, or an in-memory one for `:memory:`. */
  static async open(path: string, options: DuckDbStoreOptions = {}): Promise<DuckDbStore> {
    // External access off and locked: the SQL API can then never read or write files, attach databases or
    // load extensions, whatever statement slips through; the store itself needs none of that.
    const instance = await DuckDBInstance.create(path, {
      enable_external_access: 'false',
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      lock_configuration: 'true',
    });
    const writer = await instance.connect();
    const store = new DuckDbStore(instance, writer, options);
    await store.migrate();
    return store;
  }

  /**
   * Opens an existing database for reading only (no migrations; writes fail), e.g. to export from a stopped
   * data dir. DuckDB lets one writing process or any number of readers hold a file, never both: while a
   * server has it open this fails with E_NOT_READY naming that process.
   */
  static async openReadOnly(path: string, options: DuckDbStoreOptions = {}): Promise<DuckDbStore> {
    if (!existsSync(path)) {
      throw new TracklaneError('E_NOT_FOUND', `no Tracklane database at ${path}: check --data-dir`);
    }
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, {
        access_mode: 'READ_ONLY',
        enable_external_access: 'false',
        autoinstall_known_extensions: 'false',
        autoload_known_extensions: 'false',
        lock_configuration: 'true',
      });
    } catch (err) {
      const message = sqlErrorMessage(err);
      if (!/could not set lock/i.test(message)) throw new TracklaneError('E_SQL', message, { cause: err });
      const holder = /Conflicting lock is held in (.+?) \(PID (\d+)\)/.exec(message);
      throw new TracklaneError(
        'E_NOT_READY',
        `${path} is open in a running Tracklane${holder === null ? '' : ` (PID ${holder[2]}, ${holder[1]})`}: stop it first, or ask that server (its API) instead`,
        { cause: err },
      );
    }
    return new DuckDbStore(instance, await instance.connect(), options, true);
  }

  async migrate(): Promise<void> {
    await this.#serialize(async () => {
      await this.#writer.run(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)',
      );
      const applied = await this.#writer.runAndReadAll('SELECT version FROM schema_migrations');
      const done = new Set(applied.getRowsJS().map((row) => Number(row[0])));
      for (const migration of MIGRATIONS) {
        if (done.has(migration.version)) continue;
        await this.#transaction(async () => {
          if (migration.sql !== undefined) await this.#writer.run(migration.sql);
          if (migration.run !== undefined) await migration.run(this.#writer);
          await this.#writer.run('INSERT INTO schema_migrations VALUES ($1, $2, now())', [
            migration.version,
            migration.description,
          ]);
        });
      }
      await this.#writer.run(
        `CREATE TEMP TABLE IF NOT EXISTS events_staging (${EVENT_COLUMNS.map((c) => `${c} VARCHAR`).join(', ')})`,
      );
      const erased = await this.#writer.runAndReadAll('SELECT distinct_id FROM tombstones');
      this.#known.addTombstoned(erased.getRowsJS().map((row) => String(row[0])));
    });
  }

  insertEvents(events: TrackedEvent[]): Promise<number> {
    if (events.length === 0) return Promise.resolve(0);
    return this.#serialize(async () => {
      // Appender into a staging table, then one set-based insert: the appender is DuckDB's fast path, and
      // ON CONFLICT on the primary key makes re-delivered events (at-least-once consumers) a no-op.
      const appender = await this.#writer.createAppender('events_staging', 'main', 'temp');
      try {
        for (let i = 0; i < events.length; i++) {
          // Appending runs on the caller's thread, which in `tracklane start` also answers the collector's
          // requests: a large batch gives way now and then instead of stalling them for its whole length.
          if (i > 0 && i % YIELD_EVERY_ROWS === 0) await nextTurn();
          const e = events[i]!;
          const r = e as Record<string, unknown>;
          appendText(appender, e.messageId);
          appendText(appender, e.type);
          appendText(appender, r.event);
          appendText(appender, r.name);
          appendText(appender, e.anonymousId);
          appendText(appender, e.userId);
          appendText(appender, r.groupId);
          appendText(appender, r.previousId);
          appendText(appender, toUtcTimestamp(e.timestamp));
          appendText(appender, toUtcTimestamp(e.sentAt));
          appendText(appender, toUtcTimestamp(e.receivedAt));
          appendText(appender, e.sourceId);
          appendJson(appender, r.properties);
          appendJson(appender, r.traits);
          appendJson(appender, e.context);
          appender.endRow();
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      // Most batches touch no erased id and link no new one: their statements are skipped (see KnownIds).
      const erased = this.#known.touchesTombstoned(events);
      const unlinked = erased ? undefined : this.#known.unlinked(events);
      const notTombstoned = erased ? NOT_TOMBSTONED : 'true';
      let linkedNow: string[] = [];
      try {
        const stored = await this.#transaction(async () => {
          if (erased) await this.#extendTombstones();
          const result = await this.#writer.run(
            `INSERT INTO events (${[...EVENT_COLUMNS, 'page_path', 'is_bot', 'distinct_key'].join(', ')})
             SELECT message_id, type, event, name, anonymous_id, user_id, group_id, previous_id,
                    CAST(timestamp AS TIMESTAMP), CAST(sent_at AS TIMESTAMP), CAST(received_at AS TIMESTAMP),
                    source_id, CAST(properties AS JSON), CAST(traits AS JSON), CAST(context AS JSON), ${PAGE_PATH}, ${IS_BOT},
                    ${idKeySql(EVENT_DISTINCT_ID)}
             FROM events_staging s
             WHERE ${notTombstoned}
             ON CONFLICT DO NOTHING`,
          );
          if (unlinked !== undefined && unlinked.length === 0) return result.rowsChanged;
          // identify: anonymous id -> user id; alias: previous id -> user id (chains resolved there).
          const links = await storeIdentityLinks(
            this.#writer,
            `SELECT anonymous_id AS distinct_id, user_id AS person_id, CAST(timestamp AS TIMESTAMP) AS ts
             FROM events_staging s WHERE ${notTombstoned}
             UNION ALL
             SELECT previous_id, user_id, CAST(timestamp AS TIMESTAMP) FROM events_staging s
             WHERE type = 'alias' AND ${notTombstoned}`,
          );
          if (unlinked !== undefined) linkedNow = unlinked.filter((id) => !links.leftUnlinked.has(id));
          return result.rowsChanged;
        });
        // Committed: only now may the memory say these ids are linked or erased.
        if (erased) this.#known.learnRevealed(events);
        else this.#known.addLinked(linkedNow);
        return stored;
      } finally {
        await this.#writer.run('DELETE FROM events_staging');
      }
    });
  }

  insertDeadLetters(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return Promise.resolve();
    return this.#serialize(() =>
      this.#transaction(async () => {
        for (const letter of letters) {
          await this.#writer.run(
            `INSERT INTO dead_letters VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS TIMESTAMP)) ON CONFLICT DO NOTHING`,
            [
              letter.id,
              letter.stage,
              letter.reason,
              letter.payload,
              letter.sourceId ?? null,
              letter.messageId ?? null,
              toUtcTimestamp(new Date(letter.failedAt).toISOString()) ?? null,
            ],
          );
        }
      }),
    );
  }

  defineTable(table: TableDefinition): Promise<void> {
    checkVersionColumn(table);
    const columns = table.columns
      .map((c) => `${quoteIdentifier(c.name)} ${SQL_TYPES[c.type]}${c.nullable === false ? ' NOT NULL' : ''}`)
      .join(', ');
    const key = table.primaryKey.map(quoteIdentifier).join(', ');
    const ddl = `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table.name)} (${columns}, PRIMARY KEY (${key}))`;
    return this.#serialize(async () => {
      await this.#writer.run(ddl);
      // A table made by an older release lacks the columns added since (a version, a flag): add them, empty.
      const existing = await this.#writer.runAndReadAll(
        `SELECT column_name FROM information_schema.columns
         WHERE table_schema = 'main' AND table_catalog = current_database() AND table_name = $1`,
        [table.name],
      );
      const have = new Set(existing.getRowsJS().map((row) => String(row[0])));
      for (const c of table.columns) {
        if (have.has(c.name)) continue;
        await this.#writer.run(
          `ALTER TABLE ${quoteIdentifier(table.name)} ADD COLUMN IF NOT EXISTS ${quoteIdentifier(c.name)} ${SQL_TYPES[c.type]}`,
        );
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
    // DuckDB refuses to replace the same key twice in one statement; the newest row for a key wins anyway.
    // Keys are compared after conversion so that the same instant given as ms and as ISO text is one key.
    const keyTypes = definition.primaryKey.map(
      (k) => definition.columns.find((c) => c.name === k)?.type ?? ('string' as const),
    );
    const unique = newestPerKey(definition, rows, (row) =>
      definition.primaryKey.map((k, i) => String(toSqlValue(row[k], keyTypes[i]!))).join('\u0000'),
    );
    const columnList = definition.columns.map((c) => quoteIdentifier(c.name)).join(', ');
    // All rows go in as one JSON text parameter that DuckDB unnests into typed columns: binding a parameter
    // per value cost ~0.5 ms a row (sessions rows, 13 columns), this ~0.04 ms. Names are identifiers
    // (checked by quoteIdentifier) and types come from SQL_TYPES, so the spliced structure is safe.
    const structure = JSON.stringify(
      Object.fromEntries(
        definition.columns.map((c) => [c.name, c.type === 'json' ? 'VARCHAR' : SQL_TYPES[c.type]]),
      ),
    );
    const fields = definition.columns
      .map((c) => {
        const field = `struct_extract(r, '${c.name}')`;
        return c.type === 'json' ? `CAST(${field} AS JSON)` : field;
      })
      .join(', ');
    const insert = `INSERT INTO ${quoteIdentifier(table)} (${columnList})
      SELECT ${fields} FROM (SELECT unnest(from_json($1, '[${structure}]')) AS r)
      ${upsertConflictClause(definition)}`;
    const json = JSON.stringify(
      unique.map((row) => {
        const out: Record<string, unknown> = {};
        for (const c of definition.columns) out[c.name] = toJsonCell(row[c.name], c.type);
        return out;
      }),
    );
    return this.#serialize(() =>
      this.#transaction(async () => {
        if (unique.length > 0) await this.#writer.run(insert, [json]);
        if (options.replace !== undefined) await this.#deleteOthers(definition, unique, options.replace);
      }),
    );
  }

  /**
   * The `replace` half of upsert: deletes rows matching the filter that `kept` does not hold. Accepted values
   * and kept keys go in as JSON text parameters that DuckDB unnests, as upsert's rows do: a parameter per
   * value made this cost ~160 us per kept row (sessions of 2,600 visitors per call).
   */
  async #deleteOthers(definition: TableDefinition, kept: Row[], filter: RowFilter): Promise<void> {
    const values: DuckDBValue[] = [];
    const param = (value: DuckDBValue) => {
      values.push(value);
      return `$${values.length}`;
    };
    const typeOf = (name: string) => {
      const column = definition.columns.find((c) => c.name === name);
      if (column === undefined) {
        throw new TracklaneError('E_BAD_ARGUMENT', `table '${definition.name}' has no column '${name}'`);
      }
      return column.type;
    };
    // JSON columns compare as their text, as toSqlValue gives them.
    const jsonType = (type: ColumnType) => (type === 'json' ? 'VARCHAR' : SQL_TYPES[type]);
    const conditions: string[] = [];
    for (const [name, accepted] of Object.entries(filter)) {
      const type = typeOf(name);
      if (accepted.length === 0) return;
      const list = param(JSON.stringify(accepted.map((v) => toJsonCell(v, type))));
      conditions.push(
        `${quoteIdentifier(name)} IN (SELECT unnest(from_json(${list}, '["${jsonType(type)}"]')))`,
      );
    }
    if (kept.length > 0) {
      const key = definition.primaryKey;
      const structure = JSON.stringify(Object.fromEntries(key.map((k) => [k, jsonType(typeOf(k))])));
      const keys = param(
        JSON.stringify(
          kept.map((row) => Object.fromEntries(key.map((k) => [k, toJsonCell(row[k], typeOf(k))]))),
        ),
      );
      const matches = key
        .map((k) => `struct_extract(r, '${k}') = ${quoteIdentifier(definition.name)}.${quoteIdentifier(k)}`)
        .join(' AND ');
      conditions.push(
        `NOT EXISTS (SELECT 1 FROM (SELECT unnest(from_json(${keys}, '[${structure}]')) AS r) WHERE ${matches})`,
      );
    }
    if (definition.version !== undefined) {
      const high = highestVersion(definition, kept);
      if (Number.isFinite(high)) {
        const v = quoteIdentifier(definition.version);
        conditions.push(`(${v} IS NULL OR ${v} <= CAST(${param(BigInt(high))} AS BIGINT))`);
      }
    }
    await this.#writer.run(
      `DELETE FROM ${quoteIdentifier(definition.name)} WHERE ${conditions.length === 0 ? 'true' : conditions.join(' AND ')}`,
      values,
    );
  }

  swapTable(source: string, target: string): Promise<void> {
    return this.#serialize(() =>
      this.#transaction(async () => {
        await this.#writer.run(`DROP TABLE IF EXISTS ${quoteIdentifier(target)}`);
        await this.#writer.run(`ALTER TABLE ${quoteIdentifier(source)} RENAME TO ${quoteIdentifier(target)}`);
        const definition = this.#tables.get(source);
        if (definition !== undefined) {
          this.#tables.delete(source);
          this.#tables.set(target, { ...definition, name: target });
        }
      }),
    );
  }

  dropTable(table: string): Promise<void> {
    return this.#serialize(async () => {
      await this.#writer.run(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`);
      this.#tables.delete(table);
    });
  }

  eraseUser(userId: string, knownIds: string[] = []): Promise<Erasure> {
    return this.#serialize(() =>
      this.#transaction(async () => {
        const found = await this.#writer.runAndReadAll(
          // The whole person, whichever of their ids was given: every id linked to the same root.
          `WITH person AS (SELECT coalesce((SELECT person_id FROM identities WHERE distinct_id = $1), $1) AS root)
           SELECT distinct_id FROM identities WHERE person_id = (SELECT root FROM person)
           UNION SELECT root FROM person
           UNION SELECT anonymous_id FROM events WHERE user_id = $1 AND anonymous_id IS NOT NULL
           UNION SELECT previous_id FROM events WHERE user_id = $1 AND previous_id IS NOT NULL
           UNION SELECT distinct_id FROM tombstones WHERE erased_for = $1`,
          [userId],
        );
        const ids = new Set<string>([userId, ...knownIds]);
        for (const row of found.getRowsJS()) ids.add(String(row[0]));
        await this.#writer.run('CREATE TEMP TABLE IF NOT EXISTS erase_ids (id VARCHAR PRIMARY KEY)');
        await this.#writer.run('DELETE FROM erase_ids');
        for (const id of ids) await this.#writer.run('INSERT INTO erase_ids VALUES ($1)', [id]);
        const inIds = (column: string) => `${column} IN (SELECT id FROM erase_ids)`;
        let derived = 0;
        // Dead letters of this person: by the message id of their stored events, or naming an id in the payload.
        derived += (
          await this.#writer.run(
            `DELETE FROM dead_letters WHERE message_id IN (
               SELECT message_id FROM events WHERE ${inIds('user_id')} OR ${inIds('anonymous_id')} OR ${inIds('previous_id')})
             OR EXISTS (SELECT 1 FROM erase_ids WHERE contains(payload, '"' || id || '"'))`,
          )
        ).rowsChanged;
        const events = await this.#writer.run(
          `DELETE FROM events WHERE ${inIds('user_id')} OR ${inIds('anonymous_id')} OR ${inIds('previous_id')}`,
        );
        derived += (
          await this.#writer.run(
            `DELETE FROM identities WHERE ${inIds('distinct_id')} OR ${inIds('person_id')}`,
          )
        ).rowsChanged;
        // Projections (sessions, profiles, ...) are found by their person columns, including tables another
        // process defined, so a pipeline added later is covered without touching this code.
        const columns = await this.#writer.runAndReadAll(
          `SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = 'main' AND table_catalog = current_database()
             AND column_name IN ('user_id', 'anonymous_id', 'person_id', 'distinct_id')
             AND table_name NOT IN ('events', 'identities', 'tombstones', 'dead_letters', 'schema_migrations')`,
        );
        for (const [table, column] of columns.getRowsJS() as [string, string][]) {
          if (!IDENTIFIER.test(table)) continue;
          derived += (
            await this.#writer.run(
              `DELETE FROM ${quoteIdentifier(table)} WHERE ${inIds(quoteIdentifier(column))}`,
            )
          ).rowsChanged;
        }
        await this.#writer.run(
          `INSERT INTO tombstones SELECT id, $1, now()::TIMESTAMP FROM erase_ids ON CONFLICT DO NOTHING`,
          [userId],
        );
        // Before the commit, so no batch can pass these ids as unerased after it; more is harmless.
        this.#known.addTombstoned(ids);
        this.#known.forgetLinked();
        return { ids: [...ids].sort(), eventsDeleted: events.rowsChanged, derivedRowsDeleted: derived };
      }),
    );
  }

  deleteEventsBefore(cutoff: number): Promise<number> {
    const at = new Date(cutoff).toISOString().slice(0, -1);
    return this.#serialize(async () => {
      const result = await this.#writer.run('DELETE FROM events WHERE timestamp < CAST($1 AS TIMESTAMP)', [
        at,
      ]);
      return result.rowsChanged;
    });
  }

  deleteRowsBefore(table: string, column: string, cutoff: number): Promise<number> {
    try {
      refuseRawEvents(table);
    } catch (err) {
      return Promise.reject(err);
    }
    const at = new Date(cutoff).toISOString().slice(0, -1);
    return this.#serialize(async () => {
      const found = await this.#writer.runAndReadAll(
        `SELECT 1 FROM information_schema.columns
         WHERE table_schema = 'main' AND table_catalog = current_database() AND table_name = $1 AND column_name = $2`,
        [table, column],
      );
      if (found.currentRowCount === 0) return 0;
      const result = await this.#writer.run(
        `DELETE FROM ${quoteIdentifier(table)} WHERE ${quoteIdentifier(column)} < CAST($1 AS TIMESTAMP)`,
        [at],
      );
      if (table === 'identities') this.#known.forgetLinked();
      return Number(result.rowsChanged);
    });
  }

  async *scanEvents(range: EventRange, batchRows = 10_000): AsyncIterable<StoredEventRow[]> {
    this.#assertOpen();
    const connection = await this.#instance.connect();
    try {
      const prepared = await connection.prepare(
        `SELECT message_id, type, event, name, anonymous_id, user_id, group_id, previous_id,
                strftime(timestamp, '${ISO_FORMAT}') AS timestamp, strftime(sent_at, '${ISO_FORMAT}') AS sent_at,
                strftime(received_at, '${ISO_FORMAT}') AS received_at, source_id,
                CAST(properties AS VARCHAR) AS properties, CAST(traits AS VARCHAR) AS traits,
                CAST(context AS VARCHAR) AS context
         FROM events
         WHERE timestamp >= CAST($1 AS TIMESTAMP) AND timestamp < CAST($2 AS TIMESTAMP)
         ORDER BY timestamp, message_id`,
      );
      prepared.bind([
        new Date(range.from ?? 0).toISOString().slice(0, -1),
        new Date(range.to ?? Date.UTC(9999, 0, 1)).toISOString().slice(0, -1),
      ]);
      const result = await prepared.stream();
      let batch: StoredEventRow[] = [];
      for await (const rows of result.yieldRowObjectJs()) {
        for (const row of rows) {
          batch.push(row as unknown as StoredEventRow);
          if (batch.length >= batchRows) {
            yield batch;
            batch = [];
          }
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      connection.closeSync();
    }
  }

  async query(sql: string, options: QueryOptions = {}): Promise<QueryResult> {
    this.#assertOpen();
    const maxRows = options.maxRows ?? this.#options.maxRows;
    const timeoutMs = options.timeoutMs ?? this.#options.queryTimeoutMs;
    const connection = await this.#instance.connect();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      connection.interrupt();
    }, timeoutMs);
    try {
      const prepared = await prepareReadOnly(connection, sql);
      if (options.params !== undefined) prepared.bind(options.params);
      const result = await prepared.stream();
      const columns = result.columnNames();
      const rows: unknown[][] = [];
      let truncated = false;
      for await (const chunk of result.yieldRowsJs()) {
        for (const row of chunk) {
          if (rows.length >= maxRows) {
            truncated = true;
            break;
          }
          rows.push(row.map(toJsonValue));
        }
        if (truncated) break;
      }
      return { columns, rows, truncated };
    } catch (err) {
      if (err instanceof TracklaneError) throw err;
      if (timedOut) {
        throw new TracklaneError(
          'E_QUERY_TIMEOUT',
          `query exceeded ${timeoutMs} ms: narrow the time range or add a LIMIT`,
        );
      }
      throw new TracklaneError('E_SQL', sqlErrorMessage(err), { cause: err });
    } finally {
      clearTimeout(timer);
      connection.closeSync();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // A read-only file has nothing to write back.
    if (!this.#readOnly) {
      await this.#serialize(async () => {
        await this.#writer.run('CHECKPOINT');
      });
    }
    this.#closed = true;
    this.#writer.closeSync();
    this.#instance.closeSync();
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

  /** A tombstoned user's events that are still arriving (a replayed log, a late batch) reveal anonymous ids
   * the erasure could not know about: tombstone those too and remove what was stored under them. */
  async #extendTombstones(): Promise<void> {
    const added = await this.#writer.run(
      `INSERT INTO tombstones
       SELECT DISTINCT id, erased_for, now()::TIMESTAMP FROM (
         SELECT s.anonymous_id AS id, t.erased_for FROM events_staging s JOIN tombstones t ON t.distinct_id = s.user_id
         UNION ALL
         SELECT s.previous_id, t.erased_for FROM events_staging s JOIN tombstones t ON t.distinct_id = s.user_id
       ) WHERE id IS NOT NULL
       ON CONFLICT DO NOTHING`,
    );
    if (added.rowsChanged === 0) return;
    await this.#writer.run(
      `DELETE FROM events WHERE anonymous_id IN (SELECT distinct_id FROM tombstones)
         OR user_id IN (SELECT distinct_id FROM tombstones)`,
    );
    await this.#writer.run(
      'DELETE FROM identities WHERE distinct_id IN (SELECT distinct_id FROM tombstones)',
    );
  }

  async #transaction<T>(operation: () => Promise<T>): Promise<T> {
    await this.#writer.run('BEGIN TRANSACTION');
    try {
      const result = await operation();
      await this.#writer.run('COMMIT');
      return result;
    } catch (err) {
      await this.#writer.run('ROLLBACK');
      throw err;
    }
  }
}

async function prepareReadOnly(connection: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  let prepared: DuckDBPreparedStatement;
  try {
    const statements = await connection.extractStatements(sql);
    if (statements.count !== 1) {
      throw new TracklaneError(
        'E_READ_ONLY_SQL',
        `send exactly one SELECT statement (got ${statements.count}); run them one request at a time`,
      );
    }
    prepared = await statements.prepare(0);
  } catch (err) {
    if (err instanceof TracklaneError) throw err;
    throw new TracklaneError('E_SQL', sqlErrorMessage(err), { cause: err });
  }
  if (prepared.statementType !== StatementType.SELECT) {
    throw new TracklaneError(
      'E_READ_ONLY_SQL',
      'only read-only SELECT queries are allowed here (no INSERT, UPDATE, DELETE, DDL, COPY, ATTACH, PRAGMA or SET)',
    );
  }
  return prepared;
}

function sqlErrorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

type Appender = Awaited<ReturnType<DuckDBConnection['createAppender']>>;

function appendText(appender: Appender, value: unknown): void {
  if (value === undefined || value === null) appender.appendNull();
  else appender.appendVarchar(String(value));
}

function appendJson(appender: Appender, value: unknown): void {
  if (value === undefined || value === null) appender.appendNull();
  else appender.appendVarchar(JSON.stringify(value));
}

/** DuckDB TIMESTAMP is zone-less: store UTC, whatever offset the client used. */
function toUtcTimestamp(iso: string | undefined): string | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().slice(0, -1);
}

/**
 * Replaces a stored row by key; on a versioned table only when the new row is not older (a stored row
 * without a version predates versions and always loses).
 */
function upsertConflictClause(table: TableDefinition): string {
  const key = table.primaryKey.map(quoteIdentifier).join(', ');
  const others = table.columns.filter((c) => !table.primaryKey.includes(c.name));
  if (others.length === 0) return `ON CONFLICT (${key}) DO NOTHING`;
  const set = others
    .map((c) => `${quoteIdentifier(c.name)} = excluded.${quoteIdentifier(c.name)}`)
    .join(', ');
  if (table.version === undefined) return `ON CONFLICT (${key}) DO UPDATE SET ${set}`;
  const v = quoteIdentifier(table.version);
  const t = quoteIdentifier(table.name);
  return `ON CONFLICT (${key}) DO UPDATE SET ${set} WHERE ${t}.${v} IS NULL OR excluded.${v} >= ${t}.${v}`;
}

/** A value as JSON for `from_json` in upsert: what toSqlValue gives, with 64-bit integers as text. */
function toJsonCell(value: unknown, type: ColumnType): unknown {
  const v = toSqlValue(value, type);
  if (typeof v !== 'bigint') return v;
  return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
}

function toSqlValue(value: unknown, type: ColumnType): DuckDBValue {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'timestamp': {
      const ms = typeof value === 'number' ? value : Date.parse(String(value));
      return Number.isNaN(ms) ? null : new Date(ms).toISOString().slice(0, -1);
    }
    case 'json':
      return JSON.stringify(value);
    case 'int':
      return typeof value === 'bigint' ? value : BigInt(Math.trunc(Number(value)));
    case 'float':
      return Number(value);
    case 'bool':
      return Boolean(value);
    default:
      return String(value);
  }
}
