import type { TrackedEvent } from '@tracklane/core';
import { aggregates } from '../aggregates/aggregate.ts';
import { latest } from '../aggregates/latest.ts';
import { max, min } from '../aggregates/min-max.ts';
import type { KeyedResult } from '../pipeline.ts';
import { storeSink, versioned } from '../sinks/store-sink.ts';
import { events, eventTime, type Projection, personId, tableAs } from './projection.ts';

const profileAggregate = aggregates({
  first: min(eventTime),
  last: max(eventTime),
  traits: latest(
    (e: TrackedEvent) => (e.type === 'identify' ? (e.traits ?? {}) : undefined),
    eventTime,
    (e) => e.messageId,
  ),
  anonymousId: latest(
    (e: TrackedEvent) => e.anonymousId,
    eventTime,
    (e) => e.messageId,
  ),
});

type ProfileValue = ReturnType<typeof profileAggregate.result>;

/** One row per person: traits of their latest identify, latest anonymous id, first and last seen. */
export const userProfiles: Projection = {
  name: 'user_profiles',
  table: versioned({
    name: 'user_profiles',
    columns: [
      { name: 'user_id', type: 'string' },
      { name: 'anonymous_id', type: 'string', nullable: true },
      { name: 'traits', type: 'json', nullable: true },
      { name: 'first_seen', type: 'timestamp' },
      { name: 'last_seen', type: 'timestamp' },
    ],
    primaryKey: ['user_id'],
  }),
  build({ log, store, tableName }) {
    // Every aggregate here ignores repeats (min, max, latest-by-time), so duplicates need no dedupe step.
    return events(log)
      .filter((e) => personId(e) !== null)
      .keyBy((e) => personId(e)!)
      .aggregate(profileAggregate)
      .to(
        storeSink(store, tableAs(this.table, tableName), (r: KeyedResult<string, ProfileValue>) => ({
          user_id: r.key,
          anonymous_id: r.value.anonymousId,
          traits: r.value.traits,
          first_seen: r.value.first,
          last_seen: r.value.last,
        })),
        { name: this.name },
      );
  },
};
