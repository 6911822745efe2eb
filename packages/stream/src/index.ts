export * from './aggregates/index.ts';
export type { CheckpointOutput, PartitionCheckpoint } from './checkpoint/checkpointer.ts';
export type { BranchRoute } from './operators/branch.ts';
export type { KeyedResult, LateEvent, LateOutput, Pipeline, Source, WindowResult } from './pipeline.ts';
export {
  BUILTIN_GROUP,
  BUILTIN_PIPELINES,
  type BuiltinPipelinesOptions,
  type RunningPipelines,
  startBuiltinPipelines,
} from './pipelines/builtin.ts';
export { type BuiltinWorkerData, builtinPipelines } from './pipelines/builtin-factory.ts';
export { eventCountsMinute, eventName } from './pipelines/event-counts-minute.ts';
export {
  decodeEvent,
  EVENTS_TOPIC,
  type Projection,
  type ProjectionContext,
} from './pipelines/projection.ts';
export { pageOf, sessionId, sessions } from './pipelines/sessions.ts';
export { LEADERSHIP_TOPIC, type SingleActiveOptions, startSingleActive } from './pipelines/single-active.ts';
export { uniqueUsersDay, uniqueUsersHour } from './pipelines/unique-users.ts';
export { userProfiles } from './pipelines/user-profiles.ts';
export { type ReplayOptions, type ReplayProgress, type ReplayResult, replayPipeline } from './replay.ts';
export {
  type CheckpointInfo,
  type EngineOptions,
  type EngineStats,
  StreamEngine,
  startEngine,
} from './runtime/engine.ts';
export { Leadership, type LeadershipOptions } from './runtime/leadership.ts';
export type { Logger } from './runtime/logger.ts';
export type { OpenWindowResult } from './runtime/outputs.ts';
export type { RetryPolicy } from './runtime/retry.ts';
export type { Sink, SinkContext } from './sinks/sink.ts';
export type { SinkStore } from './sinks/sink-store.ts';
export { type StoreSinkOptions, storeSink, versioned } from './sinks/store-sink.ts';
export { type Table, type TableOptions, type TablePosition, table } from './state/table.ts';
export {
  DEFAULT_LATE_TOPIC,
  decodeJson,
  type FromOptions,
  from,
  KeyedStream,
  Stream,
  WindowedStream,
  type WindowOptions,
} from './stream.ts';
export { type Duration, toMs } from './windows/duration.ts';
export { hopping } from './windows/hopping.ts';
export { session } from './windows/session.ts';
export { tumbling } from './windows/tumbling.ts';
export type { FixedWindows, SessionWindows, Window, WindowSpec } from './windows/window.ts';
export type { PipelineFactory, WorkerContext, WorkerEngineOptions } from './workers/protocol.ts';
export {
  defaultStreamWorkers,
  StreamWorkerPool,
  startWorkerPool,
  type WorkerPoolOptions,
} from './workers/worker-pool.ts';
