import { createHash } from 'node:crypto';
import { type TrackedEvent, TracklaneError } from '@tracklane/core';
import {
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
  type Store,
  type StoredEventRow,
  type TableDefinition,
  type UpsertOptions,
} from '@tracklane/storage';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { storeIdentityLinks } from './identity-links.ts';
import { MIGRATIONS } from './migrations.ts';
import { monthPartitions, partitionName } from './partitions.ts';
import { assertReadOnlySql } from './read-only-sql.ts';
import { QUERY_TYPES, toJsonValue } from './result-types.ts';

export interface PostgresStoreOptions {
  /** The store's own connection: owns the schema, so needs CREATE on it (and CREATEROLE for the reader). */
  connectionString: string;
  /**
   * Optional login of the SELECT-only role for `query`. Without it, queries run on the store's connection
   * after `SET LOCAL ROLE` to the reader role, guarded by read-only-sql.ts against undoing it.
   */
  readerConnectionString?: string;
  /** The SELECT-only role migrations create and grant; `tracklane_reader` unless told. */
  readerRole?: string;
  /** Default time limit for `query`. */
  queryTimeoutMs?: number;
  /** Default row limit for `query`. */
  maxRows?: number;
  /** Connections in the pool. */
  poolSize?: number;
}

const SQL_TYPES: Record<ColumnType, string> = {
  string: 'text',
  int: 'bigint',
  float: 'double precision',
  bool: 'boolean',
  timestamp: 'timestamp',
  json: 'jsonb',
};

/** The batch as handed to jsonb_to_recordset: one parameter, whatever the batch size. */
const STAGED_COLUMNS = `message_id text, type text, event text, name text, anonymous_id text, user_id text,
  group_id text, previous_id text, timestamp timestamp, sent_at timestamp, received_at timestamp,
  source_id text, properties jsonb, traits jsonb, context jsonb`;

const EVENT_COLUMNS =
  'message_id, type, event, name, anonymous_id, user_id, group_id, previous_id, timestamp, sent_at, received_at, source_id, properties, traits, context';

/** Same extraction as DuckDB's PAGE_PATH / IS_BOT: analytics reads them on every page view. */
const PAGE_PATH = `coalesce(s.context #>> '{page,path}', s.context #>> '{tracklane,page,path}',
  CASE WHEN s.type = 'page' THEN s.properties ->> 'path' END)`;
const IS_BOT = `(s.context #>> '{tracklane,bot}') = 'true'`;

const NOT_TOMBSTONED = `coalesce(s.user_id, '') NOT IN (SELECT distinct_id FROM tombstones)
  AND coalesce(s.anonymous_id, '') NOT IN (SELECT distinct_id FROM tombstones)
  AND coalesce(s.previous_id, '') NOT IN (SELECT distinct_id FROM tombstones)`;

const BUILTIN_TABLES = [
  'events',
  'event_ids',
  'identities',
  'tombstones',
  'dead_letters',
  'schema_migrations',
];

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** Any numbers; only their being the same in every process matters. */
const MIGRATION_LOCK = 7_303_011;
const IDENTITY_LOCK = 7_303_012;

/**
 * The Store on PostgreSQL. Writes go through a connection pool, each call in its own transaction, so
 * several collector/processor processes can write at once: message id dedup and identity links are
 * decided by unique keys, not by this process.
 */
export class PostgresStore implements Store {
  readonly sqlDialect = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #readerPool: pg.Pool | undefined;
  readonly #reader: string;
  readonly #options: { queryTimeoutMs: number; maxRows: number };
  readonly #tables = new Map<string, TableDefinition>();
  /** `table.column` pairs known to lead an index (see #ensureLookupIndex). */
  readonly #indexed = new Set<string>();
  readonly #partitions = new Set<string>();
  #closed = false;

  private constructor(options: PostgresStoreOptions) {
    this.#pool = new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 4 });
    this.#readerPool =
      options.readerConnectionString === undefined
        ? undefined
        : new pg.Pool({ connectionString: options.readerConnectionString, max: options.poolSize ?? 4 });
    // A dropped idle connection is replaced on next use; without a listener it would crash the process.
    this.#pool.on('error', () => undefined);
    this.#readerPool?.on('error', () => undefined);
    this.#reader = options.readerRole ?? 'tracklane_reader';
    quoteIdentifier(this.#reader);
    this.#options = { queryTimeoutMs: options.queryTimeoutMs ?? 10_000, maxRows: options.maxRows ?? 10_000 };
  }

  /** Connects and migrates. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      await store.migrate();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  async migrate(): Promise<void> {
    await this.#transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, description text, applied_at timestamp)',
      );
      const applied = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const done = new Set(applied.rows.map((row) => Number(row.version)));
      const schema = (await client.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
      for (const migration of MIGRATIONS) {
        if (done.has(migration.version)) continue;
        const sql = migration.sql
          ?.replaceAll('{reader_literal}', `'${this.#reader}'`)
          .replaceAll('{reader}', quoteIdentifier(this.#reader))
          .replaceAll('{schema}', `"${schema.replaceAll('"', '""')}"`);
        await client.query('SAVEPOINT migration');
        if (sql !== undefined) await client.query(sql);
        if (migration.run !== undefined) await migration.run(client);
        await client.query("INSERT INTO schema_migrations VALUES ($1, $2, now() AT TIME ZONE 'UTC')", [
          migration.version,
          migration.description,
        ]);
        await client.query('RELEASE SAVEPOINT migration');
      }
      const known = await client.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'events'::regclass`,
      );
      for (const row of known.rows) this.#partitions.add(row.name);
    });
  }

  async insertEvents(events: TrackedEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const staged = events.map((e) => {
      const r = e as Record<string, unknown>;
      return {
        message_id: e.messageId,
        type: e.type,
        event: r.event ?? null,
        name: r.name ?? null,
        anonymous_id: e.anonymousId ?? null,
        user_id: e.userId ?? null,
        group_id: r.groupId ?? null,
        previous_id: r.previousId ?? null,
        timestamp: toUtcTimestamp(e.timestamp),
        sent_at: toUtcTimestamp(e.sentAt),
        received_at: toUtcTimestamp(e.receivedAt),
        source_id: e.sourceId,
        properties: r.properties ?? null,
        traits: r.traits ?? null,
        context: e.context ?? null,
      };
    });
    await this.#ensurePartitions(staged.map((s) => s.timestamp));
    return this.#transaction(async (client) => {
      await client.query(
        `CREATE TEMP TABLE events_staging ON COMMIT DROP AS
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS s(${STAGED_COLUMNS})`,
        [JSON.stringify(staged)],
      );
      await this.#extendTombstones(client);
      // The ledger decides which ids are new, under its primary key: concurrent writers of the same id
      // wait for each other and exactly one inserts the event. Sorted, so two batches lock shared ids in the
      // same order and cannot deadlock.
      const inserted = await client.query(
        `WITH fresh AS (
           INSERT INTO event_ids (message_id, timestamp)
           SELECT DISTINCT ON (message_id) message_id, timestamp FROM events_staging s WHERE ${NOT_TOMBSTONED}
           ORDER BY message_id
           ON CONFLICT DO NOTHING
           RETURNING message_id
         )
         INSERT INTO events (${EVENT_COLUMNS}, page_path, is_bot)
         SELECT DISTINCT ON (s.message_id) ${EVENT_COLUMNS.split(', ')
           .map((c) => `s.${c}`)
           .join(', ')}, ${PAGE_PATH}, ${IS_BOT}
         FROM events_staging s JOIN fresh USING (message_id)
         ORDER BY s.message_id`,
      );
      // identify: anonymous id -> user id; alias: previous id -> user id (chains resolved there). The lock
      // puts concurrent writers' links in one order: each resolves against the links stored before it.
      await client.query('SELECT pg_advisory_xact_lock($1)', [IDENTITY_LOCK]);
      await storeIdentityLinks(
        client,
        `SELECT anonymous_id AS distinct_id, user_id AS person_id, timestamp AS ts FROM events_staging s
         WHERE ${NOT_TOMBSTONED}
         UNION ALL
         SELECT previous_id, user_id, timestamp FROM events_staging s WHERE type = 'alias' AND ${NOT_TOMBSTONED}`,
      );
      return inserted.rowCount ?? 0;
    });
  }

  async insertDeadLetters(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const rows = letters.map((l) => ({
      id: l.id,
      stage: l.stage,
      reason: l.reason,
      payload: l.payload,
      source_id: l.sourceId ?? null,
      message_id: l.messageId ?? null,
      failed_at: new Date(l.failedAt).toISOString().slice(0, -1),
    }));
    await this.#run(
      `INSERT INTO dead_letters
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS d(id text, stage text, reason text, payload text,
         source_id text, message_id text, failed_at timestamp)
       ON CONFLICT DO NOTHING`,
      [JSON.stringify(rows)],
    );
  }

  async defineTable(table: TableDefinition): Promise<void> {
    checkVersionColumn(table);
    const columns = table.columns
      .map((c) => `${quoteIdentifier(c.name)} ${SQL_TYPES[c.type]}${c.nullable === false ? ' NOT NULL' : ''}`)
      .join(', ');
    const key = table.primaryKey.map(quoteIdentifier).join(', ');
    await this.#run(
      `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(table.name)} (${columns}, PRIMARY KEY (${key}))`,
    );
    // A table made by an older release lacks the columns added since (a version, a flag): add them, empty.
    const existing = await this.#run(
      `SELECT column_name FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = $1`,
      [table.name],
    );
    const have = new Set(existing.rows.map((r: { column_name: string }) => r.column_name));
    for (const c of table.columns) {
      if (have.has(c.name)) continue;
      await this.#run(
        `ALTER TABLE ${quoteIdentifier(table.name)} ADD COLUMN IF NOT EXISTS ${quoteIdentifier(c.name)} ${SQL_TYPES[c.type]}`,
      );
    }
    this.#tables.set(table.name, table);
  }

  async upsert(table: string, rows: Row[], options: UpsertOptions = {}): Promise<void> {
    const definition = this.#tables.get(table);
    if (definition === undefined) {
      throw new TracklaneError('E_BAD_ARGUMENT', `table '${table}' is not defined: call defineTable first`);
    }
    if (rows.length === 0 && options.replace === undefined) return;
    // ON CONFLICT DO UPDATE refuses to touch one key twice in a statement; the newest row for a key wins anyway.
    // Keys are compared after conversion so the same instant given as ms and as ISO text is one key.
    const converted = rows.map((row) => {
      const out: Record<string, unknown> = {};
      for (const column of definition.columns) out[column.name] = toSqlValue(row[column.name], column.type);
      return out;
    });
    const unique = newestPerKey(definition, converted, (row) =>
      JSON.stringify(definition.primaryKey.map((k) => row[k])),
    );
    const columnList = definition.columns.map((c) => quoteIdentifier(c.name)).join(', ');
    const recordType = definition.columns
      .map((c) => `${quoteIdentifier(c.name)} ${SQL_TYPES[c.type]}`)
      .join(', ');
    const others = definition.columns.filter((c) => !definition.primaryKey.includes(c.name));
    // On a versioned table a stored row is replaced only by a row at least as new (a stored row without a
    // version predates versions and always loses), so a late re-delivery of an older result is a no-op.
    const guard =
      definition.version === undefined
        ? ''
        : ` WHERE cur.${quoteIdentifier(definition.version)} IS NULL OR EXCLUDED.${quoteIdentifier(definition.version)} >= cur.${quoteIdentifier(definition.version)}`;
    const onConflict =
      others.length === 0
        ? 'DO NOTHING'
        : `DO UPDATE SET ${others.map((c) => `${quoteIdentifier(c.name)} = EXCLUDED.${quoteIdentifier(c.name)}`).join(', ')}${guard}`;
    const insert = `INSERT INTO ${quoteIdentifier(table)} AS cur (${columnList})
       SELECT ${columnList} FROM jsonb_to_recordset($1::jsonb) AS r(${recordType})
       ON CONFLICT (${definition.primaryKey.map(quoteIdentifier).join(', ')}) ${onConflict}`;
    const rowsJson = JSON.stringify(unique);
    if (options.replace === undefined) {
      await this.#run(insert, [rowsJson]);
      return;
    }
    const replace = options.replace;
    const lookup = Object.keys(replace)[0];
    if (lookup !== undefined) await this.#ensureLookupIndex(table, lookup);
    await this.#transaction(async (client) => {
      if (unique.length > 0) await client.query(insert, [rowsJson]);
      const deletion = deleteOthersSql(definition, unique, replace);
      if (deletion !== undefined) await client.query(deletion.sql, deletion.params);
    });
  }

  /**
   * `replace` deletes by its filter at every call (each checkpoint of a projection that retracts rows):
   * without an index on the filter's first column that is a scan of the whole table each time. Built once,
   * on first use, unless an index already leads with the column (one kept across a swapTable, say); the
   * name is derived from the table and column, not spelled out, so it stays within PostgreSQL's 63 bytes.
   */
  async #ensureLookupIndex(table: string, column: string): Promise<void> {
    const key = `${table}.${column}`;
    if (this.#indexed.has(key)) return;
    const found = await this.#run(
      `SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
       WHERE i.indrelid = to_regclass($1) AND a.attname = $2`,
      [quoteIdentifier(table), column],
    );
    if (found.rowCount === 0) {
      const name = `lookup_${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
      await this.#run(
        `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(name)} ON ${quoteIdentifier(table)} (${quoteIdentifier(column)})`,
      );
    }
    this.#indexed.add(key);
  }

  async swapTable(source: string, target: string): Promise<void> {
    await this.#transaction(async (client) => {
      await client.query(`DROP TABLE IF EXISTS ${quoteIdentifier(target)}`);
      await client.query(`ALTER TABLE ${quoteIdentifier(source)} RENAME TO ${quoteIdentifier(target)}`);
    });
    const definition = this.#tables.get(source);
    if (definition !== undefined) {
      this.#tables.delete(source);
      this.#tables.set(target, { ...definition, name: target });
    }
    this.#forgetIndexes(source);
    this.#forgetIndexes(target);
  }

  async dropTable(table: string): Promise<void> {
    await this.#run(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`);
    this.#tables.delete(table);
    this.#forgetIndexes(table);
  }

  #forgetIndexes(table: string): void {
    for (const key of this.#indexed) if (key.startsWith(`${table}.`)) this.#indexed.delete(key);
  }

  eraseUser(userId: string, knownIds: string[] = []): Promise<Erasure> {
    return this.#transaction(async (client) => {
      const found = await client.query<{ id: string }>(
        // The whole person, whichever of their ids was given: every id linked to the same root.
        `WITH person AS (SELECT coalesce((SELECT person_id FROM identities WHERE distinct_id = $1), $1) AS root)
         SELECT distinct_id AS id FROM identities WHERE person_id = (SELECT root FROM person)
         UNION SELECT root FROM person
         UNION SELECT anonymous_id FROM events WHERE user_id = $1 AND anonymous_id IS NOT NULL
         UNION SELECT previous_id FROM events WHERE user_id = $1 AND previous_id IS NOT NULL
         UNION SELECT distinct_id FROM tombstones WHERE erased_for = $1`,
        [userId],
      );
      const ids = new Set<string>([userId, ...knownIds]);
      for (const row of found.rows) ids.add(row.id);
      const list = [...ids];
      const inIds = (column: string) => `${column} = ANY($1::text[])`;
      const personEvents = `${inIds('user_id')} OR ${inIds('anonymous_id')} OR ${inIds('previous_id')}`;
      let derived = 0;
      derived +=
        (
          await client.query(
            `DELETE FROM dead_letters WHERE message_id IN (SELECT message_id FROM events WHERE ${personEvents})
             OR EXISTS (SELECT 1 FROM unnest($1::text[]) AS id WHERE position('"' || id || '"' IN payload) > 0)`,
            [list],
          )
        ).rowCount ?? 0;
      const events = await client.query(
        `WITH gone AS (DELETE FROM events WHERE ${personEvents} RETURNING message_id)
         DELETE FROM event_ids WHERE message_id IN (SELECT message_id FROM gone)`,
        [list],
      );
      derived +=
        (
          await client.query(
            `DELETE FROM identities WHERE ${inIds('distinct_id')} OR ${inIds('person_id')}`,
            [list],
          )
        ).rowCount ?? 0;
      // Projections are found by their person columns, including tables another process defined.
      const columns = await client.query<{ t: string; c: string }>(
        `SELECT c.relname AS t, a.attname AS c FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND NOT c.relispartition
           AND NOT a.attisdropped AND a.attname IN ('user_id', 'anonymous_id', 'person_id', 'distinct_id')
           AND c.relname <> ALL($1::text[])`,
        [BUILTIN_TABLES],
      );
      for (const { t, c } of columns.rows) {
        derived +=
          (await client.query(`DELETE FROM ${quoteIdentifier(t)} WHERE ${inIds(quoteIdentifier(c))}`, [list]))
            .rowCount ?? 0;
      }
      await client.query(
        `INSERT INTO tombstones SELECT id, $2, now() AT TIME ZONE 'UTC' FROM unnest($1::text[]) AS id
         ON CONFLICT DO NOTHING`,
        [list, userId],
      );
      return { ids: list.sort(), eventsDeleted: events.rowCount ?? 0, derivedRowsDeleted: derived };
    });
  }

  deleteRowsBefore(table: string, column: string, cutoff: number): Promise<number> {
    try {
      refuseRawEvents(table);
    } catch (err) {
      return Promise.reject(err);
    }
    const at = new Date(cutoff).toISOString().slice(0, -1);
    return this.#transaction(async (client) => {
      const found = await client.query(
        `SELECT 1 FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`,
        [table, column],
      );
      if (found.rowCount === 0) return 0;
      const result = await client.query(
        `DELETE FROM ${quoteIdentifier(table)} WHERE ${quoteIdentifier(column)} < $1::timestamp`,
        [at],
      );
      return result.rowCount ?? 0;
    });
  }

  deleteEventsBefore(cutoff: number): Promise<number> {
    const at = new Date(cutoff).toISOString().slice(0, -1);
    return this.#transaction(async (client) => {
      let deleted = 0;
      // Whole months before the cutoff go as partitions (no row-by-row delete, no vacuum debt).
      const whole = await client.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'events'::regclass
           AND (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamp <= $1::timestamp`,
        [at],
      );
      for (const { name } of whole.rows) {
        const table = quoteIdentifier(name);
        const gone = await client.query(
          `DELETE FROM event_ids WHERE message_id IN (SELECT message_id FROM ${table})`,
        );
        deleted += gone.rowCount ?? 0;
        await client.query(`DROP TABLE ${table}`);
        this.#partitions.delete(name);
      }
      const rest = await client.query(
        `WITH gone AS (DELETE FROM events WHERE timestamp < $1::timestamp RETURNING message_id)
         DELETE FROM event_ids WHERE message_id IN (SELECT message_id FROM gone)`,
        [at],
      );
      return deleted + (rest.rowCount ?? 0);
    });
  }

  async *scanEvents(range: EventRange, batchRows = 10_000): AsyncIterable<StoredEventRow[]> {
    this.#assertOpen();
    const client = await this.#pool.connect();
    let cursor: Cursor<StoredEventRow> | undefined;
    try {
      // One snapshot for the whole scan, however long the consumer takes between batches.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      cursor = client.query(
        new Cursor<StoredEventRow>(
          `SELECT message_id, type, event, name, anonymous_id, user_id, group_id, previous_id,
                  to_char(timestamp, ${ISO}) AS timestamp, to_char(sent_at, ${ISO}) AS sent_at,
                  to_char(received_at, ${ISO}) AS received_at, source_id,
                  properties::text AS properties, traits::text AS traits, context::text AS context
           FROM events
           WHERE timestamp >= $1::timestamp AND timestamp < $2::timestamp
           ORDER BY timestamp, message_id`,
          [
            new Date(range.from ?? 0).toISOString().slice(0, -1),
            new Date(range.to ?? Date.UTC(9999, 0, 1)).toISOString().slice(0, -1),
          ],
        ),
      );
      for (;;) {
        const rows = await cursor.read(batchRows);
        if (rows.length === 0) break;
        yield rows;
        if (rows.length < batchRows) break;
      }
    } finally {
      await cursor?.close().catch(() => undefined);
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  }

  async query(sql: string, options: QueryOptions = {}): Promise<QueryResult> {
    this.#assertOpen();
    assertReadOnlySql(sql);
    const maxRows = options.maxRows ?? this.#options.maxRows;
    const timeoutMs = Math.max(1, Math.trunc(options.timeoutMs ?? this.#options.queryTimeoutMs));
    const client = await (this.#readerPool ?? this.#pool).connect();
    let broken = false;
    let cursor: Cursor<unknown[]> | undefined;
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(`SET LOCAL statement_timeout = ${timeoutMs}`);
      if (this.#readerPool === undefined)
        await client.query(`SET LOCAL ROLE ${quoteIdentifier(this.#reader)}`);
      cursor = client.query(
        new Cursor<unknown[]>(sql, options.params ?? [], { rowMode: 'array', types: QUERY_TYPES }),
      );
      // One row past the limit tells whether the limit cut anything, without reading the rest.
      const rows = await cursor.read(maxRows + 1);
      const truncated = rows.length > maxRows;
      if (truncated) rows.length = maxRows;
      const fields = (cursor as unknown as { _result: { fields: { name: string }[] } })._result.fields;
      return {
        columns: fields.map((f) => f.name),
        rows: rows.map((row) => row.map(toJsonValue)),
        truncated,
      };
    } catch (err) {
      throw toQueryError(err, timeoutMs);
    } finally {
      await cursor?.close().catch(() => {
        broken = true;
      });
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
    await this.#readerPool?.end();
  }

  #assertOpen(): void {
    if (this.#closed) throw new TracklaneError('E_NOT_READY', 'the store is closed');
  }

  /** Creates the month partitions a batch needs, outside the insert's transaction: creating one locks
   * the parent table, which must not be held while the batch inserts. */
  async #ensurePartitions(timestamps: (string | null)[]): Promise<void> {
    for (const month of monthPartitions(timestamps)) {
      const name = partitionName(month.from);
      if (this.#partitions.has(name)) continue;
      try {
        await this.#run(
          `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(name)} PARTITION OF events
           FOR VALUES FROM ('${month.from}') TO ('${month.to}')`,
        );
      } catch (err) {
        // Another process created it between our check and our CREATE.
        if (!(err instanceof TracklaneError && /already exists|duplicate key/.test(err.message))) throw err;
      }
      this.#partitions.add(name);
    }
  }

  async #extendTombstones(client: pg.PoolClient): Promise<void> {
    const added = await client.query(
      `INSERT INTO tombstones
       SELECT DISTINCT id, erased_for, now() AT TIME ZONE 'UTC' FROM (
         SELECT s.anonymous_id AS id, t.erased_for FROM events_staging s JOIN tombstones t ON t.distinct_id = s.user_id
         UNION ALL
         SELECT s.previous_id, t.erased_for FROM events_staging s JOIN tombstones t ON t.distinct_id = s.user_id
       ) revealed WHERE id IS NOT NULL
       ORDER BY id
       ON CONFLICT DO NOTHING`,
    );
    if ((added.rowCount ?? 0) === 0) return;
    await client.query(
      `WITH gone AS (
         DELETE FROM events WHERE anonymous_id IN (SELECT distinct_id FROM tombstones)
           OR user_id IN (SELECT distinct_id FROM tombstones)
         RETURNING message_id)
       DELETE FROM event_ids WHERE message_id IN (SELECT message_id FROM gone)`,
    );
    await client.query('DELETE FROM identities WHERE distinct_id IN (SELECT distinct_id FROM tombstones)');
  }

  async #run(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
    this.#assertOpen();
    try {
      return await this.#pool.query(sql, params);
    } catch (err) {
      throw toStoreError(err);
    }
  }

  async #transaction<T>(operation: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.#assertOpen();
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const result = await operation(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (err) {
      const broken = await client.query('ROLLBACK').then(
        () => false,
        () => true,
      );
      client.release(broken);
      throw toStoreError(err);
    }
  }
}

interface PgError {
  code?: string;
  message: string;
}

function isPgError(err: unknown): err is PgError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string';
}

function toStoreError(err: unknown): unknown {
  if (err instanceof TracklaneError || !(err instanceof Error)) return err;
  return new TracklaneError('E_SQL', err.message, { cause: err });
}

/** SQLSTATEs that mean "not allowed here" rather than "wrong SQL". */
const READ_ONLY_STATES = new Set(['25006', '42501']);

function toQueryError(err: unknown, timeoutMs: number): unknown {
  if (err instanceof TracklaneError) return err;
  if (isPgError(err)) {
    if (err.code === '57014') {
      return new TracklaneError(
        'E_QUERY_TIMEOUT',
        `query exceeded ${timeoutMs} ms: narrow the time range or add a LIMIT`,
        { cause: err },
      );
    }
    if (READ_ONLY_STATES.has(err.code ?? '') || /multiple commands/.test(err.message)) {
      return new TracklaneError(
        'E_READ_ONLY_SQL',
        `only read-only SELECT queries are allowed here: ${err.message}`,
        {
          cause: err,
        },
      );
    }
  }
  return new TracklaneError('E_SQL', err instanceof Error ? err.message : String(err), { cause: err });
}

/** The column type is zone-less and holds UTC, whatever offset the client used. */
function toUtcTimestamp(iso: string | undefined): string | null {
  if (iso === undefined) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString().slice(0, -1);
}

/** A row value as jsonb_to_recordset reads it for the column's type. */
/**
 * The `replace` half of upsert: deletes the rows matching `filter` whose key `kept` does not hold and
 * that are not newer than `kept`. Undefined when the filter can match nothing.
 */
function deleteOthersSql(
  table: TableDefinition,
  kept: Record<string, unknown>[],
  filter: RowFilter,
): { sql: string; params: unknown[] } | undefined {
  const params: unknown[] = [];
  const conditions: string[] = [];
  const typeOf = (name: string) => {
    const column = table.columns.find((c) => c.name === name);
    if (column === undefined) {
      throw new TracklaneError('E_BAD_ARGUMENT', `table '${table.name}' has no column '${name}'`);
    }
    return column.type;
  };
  for (const [name, accepted] of Object.entries(filter)) {
    if (accepted.length === 0) return undefined;
    const type = typeOf(name);
    params.push(accepted.map((v) => toSqlValue(v, type)));
    conditions.push(`t.${quoteIdentifier(name)} = ANY($${params.length}::${SQL_TYPES[type]}[])`);
  }
  if (kept.length > 0) {
    const key = table.primaryKey;
    params.push(JSON.stringify(kept.map((row) => Object.fromEntries(key.map((k) => [k, row[k]])))));
    const recordType = key.map((k) => `${quoteIdentifier(k)} ${SQL_TYPES[typeOf(k)]}`).join(', ');
    const same = key.map((k) => `k.${quoteIdentifier(k)} = t.${quoteIdentifier(k)}`).join(' AND ');
    conditions.push(
      `NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($${params.length}::jsonb) AS k(${recordType}) WHERE ${same})`,
    );
  }
  if (table.version !== undefined) {
    const high = highestVersion(table, kept);
    if (Number.isFinite(high)) {
      params.push(high);
      const v = `t.${quoteIdentifier(table.version)}`;
      conditions.push(`(${v} IS NULL OR ${v} <= $${params.length}::bigint)`);
    }
  }
  const where = conditions.length === 0 ? 'true' : conditions.join(' AND ');
  return { sql: `DELETE FROM ${quoteIdentifier(table.name)} AS t WHERE ${where}`, params };
}

function toSqlValue(value: unknown, type: ColumnType): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'timestamp': {
      const ms = typeof value === 'number' ? value : Date.parse(String(value));
      return Number.isNaN(ms) ? null : new Date(ms).toISOString().slice(0, -1);
    }
    case 'json':
      return value;
    case 'int':
      // bigint does not survive JSON.stringify; as text jsonb_to_recordset still reads it as bigint.
      return typeof value === 'bigint' ? value.toString() : Math.trunc(Number(value));
    case 'float':
      return Number(value);
    case 'bool':
      return Boolean(value);
    default:
      return String(value);
  }
}
