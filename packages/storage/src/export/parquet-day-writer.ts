import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { TracklaneError } from '@tracklane/core';
import type { StoredEventRow } from '../store.ts';

const COLUMNS: readonly (keyof StoredEventRow)[] = [
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
];

type Appender = Awaited<ReturnType<DuckDBConnection['createAppender']>>;

/**
 * Writes raw events as Hive-partitioned Parquet, `DIR/date=YYYY-MM-DD/events.parquet` (UTC days).
 *
 * A separate in-memory DuckDB that may write files: the store's own instance keeps external access off so
 * the SQL API can never touch the file system. Rows must arrive in time order (as `scanEvents` yields
 * them); each day is written when the next one starts, so memory holds one day at a time. Re-exporting a
 * day replaces its file.
 */
export class ParquetDayWriter {
  readonly dir: string;
  readonly #instance: DuckDBInstance;
  readonly #connection: DuckDBConnection;
  #appender: Appender | undefined;
  #day: string | undefined;
  #rowsInDay = 0;
  readonly days: string[] = [];

  private constructor(dir: string, instance: DuckDBInstance, connection: DuckDBConnection) {
    this.dir = dir;
    this.#instance = instance;
    this.#connection = connection;
  }

  static async open(dir: string): Promise<ParquetDayWriter> {
    const absolute = resolve(dir);
    // The path ends up in a COPY statement, where it cannot be a bound parameter.
    if (/['\0\n\r]/.test(absolute)) {
      throw new TracklaneError(
        'E_BAD_ARGUMENT',
        `output directory '${dir}' contains a quote or control character`,
      );
    }
    await mkdir(absolute, { recursive: true });
    const instance = await DuckDBInstance.create(':memory:', {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const connection = await instance.connect();
    await connection.run(`CREATE TABLE day_rows (${COLUMNS.map((c) => `${c} VARCHAR`).join(', ')})`);
    return new ParquetDayWriter(absolute, instance, connection);
  }

  async write(rows: readonly StoredEventRow[]): Promise<void> {
    for (const row of rows) {
      const day = row.timestamp.slice(0, 10);
      if (day !== this.#day) {
        await this.#flushDay();
        this.#day = day;
        this.#appender = await this.#connection.createAppender('day_rows');
      }
      const appender = this.#appender!;
      for (const column of COLUMNS) {
        const value = row[column];
        if (value === null || value === undefined) appender.appendNull();
        else appender.appendVarchar(value);
      }
      appender.endRow();
      this.#rowsInDay++;
    }
  }

  /** Writes the last day and releases the database. Returns the days written. */
  async close(): Promise<string[]> {
    try {
      await this.#flushDay();
    } finally {
      this.#connection.closeSync();
      this.#instance.closeSync();
    }
    return this.days;
  }

  async #flushDay(): Promise<void> {
    const day = this.#day;
    const appender = this.#appender;
    if (day === undefined || appender === undefined) return;
    appender.flushSync();
    appender.closeSync();
    this.#appender = undefined;
    if (this.#rowsInDay > 0) {
      const folder = join(this.dir, `date=${day}`);
      await mkdir(folder, { recursive: true });
      await this.#connection.run(
        `COPY (
           SELECT message_id, type, event, name, anonymous_id, user_id, group_id, previous_id,
                  CAST(timestamp AS TIMESTAMP) AS timestamp, CAST(sent_at AS TIMESTAMP) AS sent_at,
                  CAST(received_at AS TIMESTAMP) AS received_at, source_id,
                  CAST(properties AS JSON) AS properties, CAST(traits AS JSON) AS traits,
                  CAST(context AS JSON) AS context
           FROM day_rows ORDER BY timestamp, message_id
         ) TO '${join(folder, 'events.parquet')}' (FORMAT parquet, COMPRESSION zstd)`,
      );
      this.days.push(day);
    }
    await this.#connection.run('DELETE FROM day_rows');
    this.#rowsInDay = 0;
  }
}
