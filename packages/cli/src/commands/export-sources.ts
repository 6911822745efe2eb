import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { isTracklaneError, TracklaneError } from '@tracklane/core';
import { DuckDbStore, type StoredEventRow } from '@tracklane/storage';
import { type ApiOptions, callApi } from '../api-client.ts';

/** Where `tracklane export` reads raw events from: batches in time order, and the total when known. */
export interface ExportSource {
  total: number;
  batches: AsyncIterable<StoredEventRow[]>;
  close(): Promise<void>;
}

export interface ExportRange {
  /** ISO instants, inclusive / exclusive. */
  from?: string;
  to?: string;
}

const BATCH = 5_000;

/** The running server streams the rows (it holds the database lock and never writes files for API clients). */
export async function serverSource(options: ApiOptions, range: ExportRange): Promise<ExportSource> {
  const query = new URLSearchParams();
  if (range.from !== undefined) query.set('from', range.from);
  if (range.to !== undefined) query.set('to', range.to);
  let response: Response;
  try {
    response = await callApi(options, 'GET', `/api/events/export?${query}`);
  } catch (err) {
    if (isTracklaneError(err) && err.code === 'E_NOT_READY') {
      throw new TracklaneError(
        'E_NOT_READY',
        `${err.message}\nIf the server is stopped, export straight from its data dir: --offline --data-dir DIR`,
        { cause: err },
      );
    }
    throw err;
  }
  return {
    total: Number(response.headers.get('x-total-events') ?? 0),
    batches: ndjsonBatches(response),
    close: async () => {},
  };
}

async function* ndjsonBatches(response: Response): AsyncIterable<StoredEventRow[]> {
  const lines = createInterface({ input: Readable.fromWeb(response.body! as WebReadableStream) });
  let rows: StoredEventRow[] = [];
  let complete = false;
  for await (const line of lines) {
    if (line.length === 0) continue;
    const row = JSON.parse(line) as StoredEventRow | { $end: true };
    if ('$end' in row) {
      complete = true;
      break;
    }
    rows.push(row);
    if (rows.length >= BATCH) {
      yield rows;
      rows = [];
    }
  }
  if (rows.length > 0) yield rows;
  // The server ends a full export with an explicit marker: a cut connection is never a short export.
  if (!complete) {
    throw new TracklaneError('E_NOT_READY', 'the export stream ended early; run the export again');
  }
}

/** A stopped data dir: its DuckDB file opened read-only, so nothing in it can change. */
export async function dataDirSource(dataDir: string, range: ExportRange): Promise<ExportSource> {
  const store = await DuckDbStore.openReadOnly(join(dataDir, 'tracklane.duckdb'));
  try {
    const from = range.from === undefined ? 0 : Date.parse(range.from);
    const to = range.to === undefined ? Date.UTC(9999, 0, 1) : Date.parse(range.to);
    const counted = await store.query(
      'SELECT count(*) FROM events WHERE timestamp >= CAST($1 AS TIMESTAMP) AND timestamp < CAST($2 AS TIMESTAMP)',
      {
        params: [new Date(from).toISOString().slice(0, -1), new Date(to).toISOString().slice(0, -1)],
      },
    );
    return {
      total: Number(counted.rows[0]?.[0] ?? 0),
      batches: store.scanEvents({ from, to }, BATCH),
      close: () => store.close(),
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
