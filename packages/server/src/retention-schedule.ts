import type { Store } from '@tracklane/storage';
import { eventCountsMinute, sessions, uniqueUsersDay, uniqueUsersHour } from '@tracklane/stream';
import type { Logger } from 'pino';

const EVERY_MS = 60 * 60 * 1000;

/** A derived table whose rows retention deletes once the period a row covers (from `column`, `spanMs`
 * long) ended before the cutoff. */
export interface DerivedRetention {
  table: string;
  column: string;
  spanMs: number;
}

/**
 * What `--retention` deletes besides raw events: rows derived only from activity older than the cutoff, so
 * no table keeps what the raw data no longer supports (and a replay from the retained data gives the same
 * tables). Sessions go once they ended before the cutoff, per-minute counts and unique-user buckets once
 * their minute, hour or day did; dead letters (raw payloads) by when they failed.
 *
 * Kept on purpose: `identities` (a link made long ago still stitches the person's new events; erasure is
 * how a person's links go) and `user_profiles` (the stream engine keeps each profile in its keyed state and
 * would write the row back on the person's next event; erasure removes profiles).
 */
export const DERIVED_RETENTION: readonly DerivedRetention[] = [
  { table: sessions.table.name, column: 'end_at', spanMs: 0 },
  { table: eventCountsMinute.table.name, column: 'minute', spanMs: 60_000 },
  { table: uniqueUsersHour.table.name, column: 'hour', spanMs: 3_600_000 },
  { table: uniqueUsersDay.table.name, column: 'day', spanMs: 86_400_000 },
  { table: 'dead_letters', column: 'failed_at', spanMs: 0 },
];

export interface RetentionRun {
  events: number;
  /** Rows deleted per derived table. */
  derived: Record<string, number>;
}

/** Deletes raw events before `cutoff` (epoch ms) and the derived rows of the same age. */
export async function applyRetention(store: Store, cutoff: number): Promise<RetentionRun> {
  const events = await store.deleteEventsBefore(cutoff);
  const derived: Record<string, number> = {};
  for (const target of DERIVED_RETENTION) {
    // A period [start, start + span) is all before the cutoff when start + span <= cutoff; deleteRowsBefore
    // is strict, and period starts are whole minutes, so 1 ms more is exact. A session's end is its last event.
    const before = target.spanMs === 0 ? cutoff : cutoff - target.spanMs + 1;
    derived[target.table] = await store.deleteRowsBefore(target.table, target.column, before);
  }
  return { events, derived };
}

/** Applies retention (`retentionMs` back from now) now and then hourly. Returns a stop function. */
export function scheduleRetention(store: Store, retentionMs: number, logger: Logger): () => void {
  const run = () => {
    applyRetention(store, Date.now() - retentionMs).then(
      (deleted) => {
        const derived = Object.values(deleted.derived).reduce((a, b) => a + b, 0);
        if (deleted.events + derived > 0) {
          logger.info({ deleted }, 'retention: deleted old raw events and derived rows');
        }
      },
      (err: unknown) => logger.error({ err }, 'retention: delete failed; will retry next hour'),
    );
  };
  run();
  const timer = setInterval(run, EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
