import { TracklaneError } from '@tracklane/core';
import { ParquetDayWriter } from '@tracklane/storage';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type ApiOptions, addApiOptions } from '../api-client.ts';
import { dataDirSource, type ExportSource, serverSource } from './export-sources.ts';

/**
 * `tracklane export --format parquet --out DIR [--from] [--to] [--offline]`: raw events into a
 * Hive-partitioned data lake (`DIR/date=YYYY-MM-DD/events.parquet`). Rows come from the running server, or
 * with --offline straight from a stopped data dir's database, opened read-only; Parquet is written here, by
 * a DuckDB of this process.
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
    .option(
      '--offline',
      'read the database in --data-dir directly instead of asking the server (the server must be stopped)',
    )
    .action(async (o: ApiOptions & { out: string; from?: string; to?: string; offline?: boolean }) => {
      const range = {
        ...(o.from === undefined ? {} : { from: o.from }),
        ...(o.to === undefined ? {} : { to: o.to }),
      };
      const source =
        o.offline === true ? await dataDirSource(o.dataDir, range) : await serverSource(o, range);
      try {
        const { done, days, dir } = await writeParquet(source, o.out);
        process.stdout.write(`exported ${done} event(s) in ${days} day partition(s) to ${dir}\n`);
      } finally {
        await source.close();
      }
    });
}

async function writeParquet(
  source: ExportSource,
  out: string,
): Promise<{ done: number; days: number; dir: string }> {
  const writer = await ParquetDayWriter.open(out);
  const bar = new cliProgress.SingleBar(
    { format: 'export {bar} {value}/{total} events | {day}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  const showBar = process.stderr.isTTY && source.total > 0;
  if (showBar) bar.start(source.total, 0, { day: '' });
  let done = 0;
  let failure: unknown;
  try {
    for await (const rows of source.batches) {
      await writer.write(rows);
      done += rows.length;
      const last = rows.at(-1);
      if (showBar && last !== undefined) {
        bar.update(Math.min(done, source.total), { day: last.timestamp.slice(0, 10) });
      }
    }
  } catch (err) {
    failure = err;
  } finally {
    if (showBar) bar.stop();
  }
  // Days written so far are complete files either way; a failed export says how far it got.
  const days = await writer.close();
  if (failure !== undefined) {
    if (failure instanceof TracklaneError) {
      throw new TracklaneError(failure.code, `${failure.message} (after ${done} events)`, { cause: failure });
    }
    throw failure;
  }
  return { done, days: days.length, dir: writer.dir };
}

function isoDate(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError('expected an ISO date (2026-01-01) or date-time');
  return new Date(ms).toISOString();
}
