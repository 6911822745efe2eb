export type { CollectorContext } from './collector-context.ts';
export { collectorPlugin, MAX_BATCH_BYTES } from './collector-plugin.ts';
export { EVENTS_TOPIC, toEventRecord } from './event-record.ts';
export { type Source, SourceRegistry, type SourceWithKey } from './sources.ts';
export { writeKeyFrom } from './write-key.ts';
