import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ParquetDayWriter, type Store } from '@tracklane/storage';
import type { Logger } from 'pino';

const EVERY_MS = 60 * 60 * 1000;
const DAY_MS = 86_400_000;
const MARKER = '_exported_through';

/**
 * Continuous data-lake export: each closed UTC day is written once as `dir/date=YYYY-MM-DD/events.parquet`,
 * checked at start and hourly. `dir/_exported_through` remembers the last day written, so restarts resume.
 * Events that arrive for a day after it was exported are not added to it (run `tracklane export` for that
 * day to rewrite it).
 */
export function scheduleDailyExport(store: Store, dir: string, logger: Logger): () => void {
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
      let next = await nextDay(store, dir);
      while (next !== undefined && next < today) {
        const writer = await ParquetDayWriter.open(dir);
        try {
          for await (const batch of store.scanEvents({ from: next, to: next + DAY_MS }))
            await writer.write(batch);
        } finally {
          await writer.close();
        }
        const day = new Date(next).toISOString().slice(0, 10);
        await writeFile(join(dir, MARKER), `${day}\n`);
        logger.info({ day, dir }, 'exported closed day to Parquet');
        next += DAY_MS;
      }
    } catch (err) {
      logger.error({ err, dir }, 'daily Parquet export failed; will retry next hour');
    } finally {
      running = false;
    }
  };
  void run();
  const timer = setInterval(() => void run(), EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** The day after the marker, or the first day with events; undefined when there is nothing yet. */
async function nextDay(store: Store, dir: string): Promise<number | undefined> {
  try {
    const marker = (await readFile(join(dir, MARKER), 'utf8')).trim();
    return Date.parse(`${marker}T00:00:00Z`) + DAY_MS;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const first = await store.query("SELECT strftime(min(timestamp), '%Y-%m-%d') FROM events");
  const day = first.rows[0]?.[0];
  return typeof day === 'string' ? Date.parse(`${day}T00:00:00Z`) : undefined;
}
