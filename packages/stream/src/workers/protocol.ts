import type { MessagePort } from 'node:worker_threads';
import type { Log } from '@tracklane/log';
import type { Pipeline } from '../pipeline.ts';
import type { CheckpointInfo, EngineOptions, EngineStats } from '../runtime/engine.ts';
import type { SinkStore } from '../sinks/sink-store.ts';

/** What a pipeline module's factory gets in each worker thread. */
export interface WorkerContext<D = unknown> {
  /** The main thread's log, by proxy. */
  log: Log;
  /** The main thread's store (sink methods only), when the pool was given one. */
  store: SinkStore | undefined;
  /** The pool's `data`, structured-cloned. */
  data: D;
  /** This worker's number, from 0. */
  worker: number;
}

/**
 * A module's export that builds the pipelines a worker runs. Pipelines hold functions, which cannot cross
 * threads, so every worker builds its own from the same module: the same code in every thread, which is
 * what lets a partition move from one worker to another and carry on from its checkpointed state.
 */
export type PipelineFactory<D = unknown> = (context: WorkerContext<D>) => Pipeline[] | Promise<Pipeline[]>;

/** Engine options that can cross to a worker (everything but the log, the pipelines and callbacks). */
export type WorkerEngineOptions = Omit<EngineOptions, 'log' | 'pipelines' | 'logger' | 'onCheckpoint'>;

/** `workerData` of a stream worker thread. */
export interface WorkerInit {
  index: number;
  /** URL of the module with the pipeline factory. */
  module: string;
  exportName: string;
  data: unknown;
  engine: WorkerEngineOptions;
  logPort: MessagePort;
  storePort: MessagePort | undefined;
  controlPort: MessagePort;
  /** Whether to forward checkpoint infos (only when the pool has an `onCheckpoint`). */
  checkpoints: boolean;
}

/** Events a worker sends on its control port. */
export interface WorkerLogEvent {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg: string | undefined;
}

export interface WorkerCheckpointEvent {
  /** Only when the pool has an `onCheckpoint`. */
  info: CheckpointInfo | undefined;
  stats: EngineStats;
}

export interface WorkerReadyEvent {
  /** The source topic of the worker's pipelines. */
  topic: string;
  stats: EngineStats;
}
