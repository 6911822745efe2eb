import type { TrackedEvent } from '@tracklane/core';
import type { Log, LogRecord } from '@tracklane/log';
import type { TableDefinition } from '@tracklane/storage';
import type { Pipeline } from '../pipeline.ts';
import type { SinkStore } from '../sinks/sink-store.ts';
import { type FromOptions, from, type Stream } from '../stream.ts';

/**
 * A built-in pipeline that maintains one projection table. `build` takes the table name so replay can
 * aim the same logic at `<name>__rebuild` and swap it in.
 */
export interface Projection {
  /** Pipeline and table name. */
  readonly name: string;
  readonly table: TableDefinition;
  build(context: ProjectionContext): Pipeline;
}

export interface ProjectionContext {
  log: Log;
  /** Only what sinks use, so that a worker thread's store proxy will do. */
  store: SinkStore;
  /** The table to write (the projection's own name, or its `__rebuild` twin during replay). */
  tableName: string;
  /** Fill optional exact columns (exact distinct counts cost memory proportional to the cardinality). */
  exact: boolean;
}

export const EVENTS_TOPIC = 'events';

export function decodeEvent(record: LogRecord): TrackedEvent {
  return JSON.parse(record.value.toString('utf8')) as TrackedEvent;
}

/** Event time of a tracked event: its (collector-normalised) `timestamp`. */
export function eventTime(event: TrackedEvent): number {
  return Date.parse(event.timestamp);
}

const SOURCE_OPTIONS: FromOptions<TrackedEvent> = { eventTime, outOfOrderness: '1m' };

/** The events topic as a stream of tracked events; every built-in pipeline shares this decoder. */
export function events(log: Log): Stream<TrackedEvent> {
  return from(log, EVENTS_TOPIC, decodeEvent, SOURCE_OPTIONS);
}

/** The identity the unique-user and profile projections count: the user id once known. */
export function personId(event: TrackedEvent): string | null {
  return event.userId ?? event.anonymousId ?? null;
}

/** The identity sessions follow: the device (the events topic is partitioned by it, see the collector). */
export function visitorId(event: TrackedEvent): string | null {
  return event.anonymousId ?? event.userId ?? null;
}

export function tableAs(table: TableDefinition, name: string): TableDefinition {
  return { ...table, name };
}
