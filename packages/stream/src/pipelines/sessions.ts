import { createHash } from 'node:crypto';
import type { TrackedEvent } from '@tracklane/core';
import { aggregates } from '../aggregates/aggregate.ts';
import { count } from '../aggregates/count.ts';
import { latest } from '../aggregates/latest.ts';
import { sum } from '../aggregates/sum.ts';
import type { OpenWindowResult } from '../runtime/outputs.ts';
import { storeSink, versioned } from '../sinks/store-sink.ts';
import { session } from '../windows/session.ts';
import { events, eventTime, type Projection, tableAs, visitorId } from './projection.ts';

const ACTIVITY = new Set(['track', 'page', 'screen']);

/** The page a page/screen event was on: its path when sent, else its url, else its name. */
export function pageOf(event: TrackedEvent): string | undefined {
  if (event.type !== 'page' && event.type !== 'screen') return undefined;
  const props = event.properties as Record<string, unknown> | undefined;
  const page = (event.context as { page?: Record<string, unknown> } | undefined)?.page;
  const path = props?.path ?? page?.path ?? props?.url ?? page?.url ?? event.name;
  return typeof path === 'string' ? path : '';
}

const sessionAggregate = aggregates({
  events: count<TrackedEvent>(),
  pages: sum((e: TrackedEvent) => (e.type === 'page' || e.type === 'screen' ? 1 : 0)),
  // The earliest page is the latest by negated time; ties resolve by message id either way.
  entry: latest(
    pageOf,
    (e) => -eventTime(e),
    (e) => e.messageId,
  ),
  exit: latest(pageOf, eventTime, (e) => e.messageId),
  user: latest(
    (e: TrackedEvent) => e.userId,
    eventTime,
    (e) => e.messageId,
  ),
});

type SessionValue = ReturnType<typeof sessionAggregate.result>;

export function sessionId(visitor: string, start: number): string {
  return createHash('sha256').update(`${visitor}\u0000${start}`).digest('hex').slice(0, 32);
}

/**
 * Sessions of track/page/screen activity per visitor, split by 30 minutes without events. A session is
 * visible while it is in progress (`is_open` true, rewritten at each checkpoint that adds to it) and
 * written a last time with `is_open` false when final: when the watermark is past its last event + 30 min
 * + 10 min allowed lateness. "Sessions right now" is `WHERE is_open` (open in event time, so a visitor
 * who left stays in it until the watermark passes that point). A bounce is a single-event session.
 *
 * The id is derived from the visitor and the session's start, so a row keeps its id from the first event
 * to the final write unless an out-of-order event moves the start earlier or bridges two sessions. Each
 * write of a visitor holds all of that visitor's open sessions, and replaces the visitor's open rows
 * (`UpsertOptions.replace`): a session merged away or re-started is deleted, not left open forever.
 * Rows carry the checkpoint's version, so a retried older write never overwrites a newer one.
 */
export const sessions: Projection = {
  name: 'sessions',
  table: versioned({
    name: 'sessions',
    columns: [
      { name: 'session_id', type: 'string' },
      { name: 'visitor_id', type: 'string' },
      { name: 'user_id', type: 'string', nullable: true },
      { name: 'start_at', type: 'timestamp' },
      { name: 'end_at', type: 'timestamp' },
      { name: 'duration_ms', type: 'int' },
      { name: 'event_count', type: 'int' },
      { name: 'page_count', type: 'int' },
      { name: 'bounce', type: 'bool' },
      { name: 'entry_page', type: 'string', nullable: true },
      { name: 'exit_page', type: 'string', nullable: true },
      { name: 'is_open', type: 'bool' },
    ],
    primaryKey: ['session_id'],
  }),
  build({ log, store, tableName }) {
    const gapMs = 30 * 60_000;
    return events(log)
      .filter((e) => ACTIVITY.has(e.type) && visitorId(e) !== null)
      .dedupe((e) => e.messageId, { horizon: '2h' })
      .keyBy((e) => visitorId(e)!)
      .window(session('30m'), { allowedLateness: '10m' })
      .aggregate(sessionAggregate)
      .to(
        storeSink(
          store,
          tableAs(this.table, tableName),
          (r: OpenWindowResult<string, SessionValue>) => {
            const end = r.window.end - gapMs;
            return {
              session_id: sessionId(r.key, r.window.start),
              visitor_id: r.key,
              user_id: r.value.user,
              start_at: r.window.start,
              end_at: end,
              duration_ms: end - r.window.start,
              event_count: r.value.events,
              page_count: r.value.pages,
              bounce: r.value.events === 1,
              entry_page: r.value.entry,
              exit_page: r.value.exit,
              is_open: r.open === true,
            };
          },
          {
            openSessions: true,
            // Every visitor written comes with its complete set of open sessions (see Sink.openSessions).
            replace: (items) => ({ visitor_id: [...new Set(items.map((r) => r.key))], is_open: [true] }),
          },
        ),
        { name: this.name },
      );
  },
};
