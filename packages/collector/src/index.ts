export type { CollectorContext } from './collector-context.ts';
export { type CollectorOptions, DEFAULT_COLLECTOR_OPTIONS, type IpMode } from './collector-options.ts';
export { collectorPlugin, isCollectorPath, MAX_BATCH_BYTES } from './collector-plugin.ts';
export { DEAD_LETTER_TOPIC } from './dead-letter.ts';
export { EVENTS_TOPIC, toEventRecord } from './event-record.ts';
export { type Collector, openCollector } from './open-collector.ts';
export { type Source, SourceRegistry, type SourceWithKey } from './sources.ts';
export type { TrackingPlanConfig, TrackingPlans } from './tracking-plan.ts';
export { writeKeyFrom } from './write-key.ts';
