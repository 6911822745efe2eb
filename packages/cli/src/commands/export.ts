import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { TracklaneError } from '@tracklane/core';
import { ParquetDayWriter, type StoredEventRow } from '@tracklane/storage';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type ApiOptions, addApiOptions, callApi } from '../api-client.ts';

const BATCH = 5_000;

/**
 * `tracklane export --format parquet --out DIR [--from] [--to]`: raw events into a Hive-partitioned data
 * lake (`DIR/date=YYYY-MM-DD/events.parquet`). The running server streams the rows (it holds the database
 * lock and never writes files for API clients); Parquet is written here, by a DuckDB of this process.
 */
export function registerExport(program: Command): void {
  addApiOptions(
    program.command('export').description('export raw events as Hive-partitioned Parquet (date=YYYY-MM-DD/)'),
  )
    .addOption(new Option('--format <format>', 'file format').choices(['parquet']).default('parquet'))
    .requiredOption(
      '-o, --out <dir>',
      'output directory (created if missing; a day already there is replaced)',
    )
    .option('--from <date>', 'first day or instant (inclusive), e.g. 2026-01-01', isoDate)
    .option('--to <date>', 'end day or instant (exclusive)', isoDate)
    .action(async (o: ApiOptions & { out: string; from?: string; to?: string }) => {
      const query = new URLSearchParams();
      if (o.from !== undefined) query.set('from', o.from);
      if (o.to !== undefined) query.set('to', o.to);
      const writer = await ParquetDayWriter.open(o.out);
      const response = await callApi(o, 'GET', `/api/events/export?${query}`);
      const total = Number(response.headers.get('x-total-events') ?? 0);
      const bar = new cliProgress.SingleBar(
        { format: 'export {bar} {value}/{total} events | {day}', hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
      const showBar = process.stderr.isTTY && total > 0;
      if (showBar) bar.start(total, 0, { day: '' });
      let rows: StoredEventRow[] = [];
      let done = 0;
      let complete = false;
      try {
        const lines = createInterface({ input: Readable.fromWeb(response.body! as WebReadableStream) });
        for await (const line of lines) {
          if (line.length === 0) continue;
          const row = JSON.parse(line) as StoredEventRow | { $end: true };
          if ('$end' in row) {
            complete = true;
            break;
          }
          rows.push(row);
          if (rows.length >= BATCH) {
            await writer.write(rows);
            done += rows.length;
            if (showBar) bar.update(Math.min(done, total), { day: row.timestamp.slice(0, 10) });
            rows = [];
          }
        }
        await writer.write(rows);
        done += rows.length;
      } finally {
        if (showBar) bar.stop();
      }
      const days = await writer.close();
      if (!complete) {
        throw new TracklaneError(
          'E_NOT_READY',
          `the export stream ended early after ${done} events; run the export again`,
        );
      }
      process.stdout.write(`exported ${done} event(s) in ${days.length} day partition(s) to ${writer.dir}\n`);
    });
}

function isoDate(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError('expected an ISO date (2026-01-01) or date-time');
  return new Date(ms).toISOString();
}
