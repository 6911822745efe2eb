import type { LogRecord } from '@tracklane/log';

/** Pushes one element to the next stage. */
export type Push = (value: unknown) => void;

/**
 * What an operator sees while one record flows through a pipeline. Stateful effects (ids seen, window
 * updates, outputs) are only queued here; the task applies them once the whole chain succeeded for the
 * record, so a throw anywhere leaves state untouched and the record can be retried or dead-lettered.
 */
export interface RecordScope {
  record: LogRecord;
  /** Event time of the element being processed. */
  ts: number;
  /** The partition's watermark. */
  watermark: number;
  /** Name of the stage running, reported as `stage` when the record is dead-lettered. */
  stage: string;
  /** [opIndex, id] pairs of ids to mark seen by dedupe operators. */
  pendingIds: Array<[number, string]>;
  /** Values rejected as late by an operator (not a window): [value, reason]. */
  pendingLate: Array<[unknown, string]>;
  /** Elements routed to topics by `branch`. */
  pendingTopic: TopicOutput[];
}

export interface TopicOutput {
  topic: string;
  key: string | Uint8Array | null;
  value: Uint8Array;
  headers: Record<string, string>;
}

/** Per-partition state an operator may read; see `PipelineTask`. */
export interface OperatorState {
  seen(opIndex: number): Map<string, number>;
}

export interface Operator {
  readonly kind: string;
  readonly name: string;
  /** Stateless operators may also run on window results, after `aggregate`. */
  readonly stateless: boolean;
  /** Dedupe operators: how long ids are remembered, in event time behind the watermark. */
  readonly horizonMs?: number;
  compile(next: Push, scope: RecordScope, state: OperatorState, opIndex: number): Push;
}
