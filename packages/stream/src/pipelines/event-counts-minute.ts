import type { TrackedEvent } from '@tracklane/core';
import { count } from '../aggregates/count.ts';
import type { WindowResult } from '../pipeline.ts';
import { storeSink, versioned } from '../sinks/store-sink.ts';
import { tumbling } from '../windows/tumbling.ts';
import { events, type Projection, tableAs } from './projection.ts';

/** The name counted per minute: a track's event name, a page's or screen's name, else ''. */
export function eventName(event: TrackedEvent): string {
  if (event.type === 'track') return event.event;
  if (event.type === 'page' || event.type === 'screen') return event.name ?? '';
  return '';
}

/** Events per minute by type and name. Exact: duplicates (same messageId) are dropped before counting. */
export const eventCountsMinute: Projection = {
  name: 'event_counts_minute',
  table: versioned({
    name: 'event_counts_minute',
    columns: [
      { name: 'minute', type: 'timestamp' },
      { name: 'type', type: 'string' },
      { name: 'event', type: 'string' },
      { name: 'count', type: 'int' },
    ],
    primaryKey: ['minute', 'type', 'event'],
  }),
  build({ log, store, tableName }) {
    return events(log)
      .dedupe((e) => e.messageId, { horizon: '2h' })
      .keyBy((e) => [e.type, eventName(e)] as const)
      .window(tumbling('1m'), { allowedLateness: '1h' })
      .aggregate(count())
      .to(
        storeSink(
          store,
          tableAs(this.table, tableName),
          (r: WindowResult<readonly [string, string], number>) => ({
            minute: r.window.start,
            type: r.key[0],
            event: r.key[1],
            count: r.value,
          }),
        ),
        { name: this.name },
      );
  },
};
