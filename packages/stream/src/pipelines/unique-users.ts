import type { TrackedEvent } from '@tracklane/core';
import { type Aggregate, aggregates } from '../aggregates/aggregate.ts';
import { distinct } from '../aggregates/distinct.ts';
import { approxDistinct } from '../aggregates/hyperloglog.ts';
import type { WindowResult } from '../pipeline.ts';
import { storeSink, versioned } from '../sinks/store-sink.ts';
import { tumbling } from '../windows/tumbling.ts';
import { events, type Projection, personId, tableAs } from './projection.ts';

function uniqueUsers(name: string, column: 'hour' | 'day', size: '1h' | '1d'): Projection {
  return {
    name,
    table: versioned({
      name,
      columns: [
        { name: column, type: 'timestamp' },
        // HyperLogLog, precision 14: relative standard error 0.81% (99.7% of estimates within ±2.4%).
        { name: 'approx', type: 'int' },
        { name: 'exact', type: 'int', nullable: true },
      ],
      primaryKey: [column],
    }),
    build({ log, store, tableName, exact }) {
      const approx = approxDistinct(personId);
      // HLL and exact sets ignore repeats, so no dedupe step is needed here.
      const agg = aggregates({
        approx,
        exact: exact ? distinct(personId) : (none as Aggregate<TrackedEvent, null, null>),
      });
      return events(log)
        .keyBy(() => '')
        .window(tumbling(size), { allowedLateness: '1h' })
        .aggregate(agg)
        .to(
          storeSink(
            store,
            tableAs(this.table, tableName),
            (r: WindowResult<string, { approx: number; exact: number | null }>) => ({
              [column]: r.window.start,
              approx: r.value.approx,
              exact: r.value.exact,
            }),
          ),
          { name: this.name },
        );
    },
  };
}

const none: Aggregate<unknown, null, null> = {
  name: 'none',
  extract: () => null,
  create: () => null,
  add: () => null,
  merge: () => null,
  result: () => null,
  toJSON: () => null,
  fromJSON: () => null,
};

/** Distinct users (userId, else anonymousId) per hour. */
export const uniqueUsersHour = uniqueUsers('unique_users_hour', 'hour', '1h');
/** Distinct users (userId, else anonymousId) per UTC day. */
export const uniqueUsersDay = uniqueUsers('unique_users_day', 'day', '1d');
