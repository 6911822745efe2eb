import type { Log, LogRecord } from '@tracklane/log';
import type { Aggregate } from './aggregates/aggregate.ts';
import type { Operator } from './operators/operator.ts';
import type { Sink } from './sinks/sink.ts';
import type { Table } from './state/table.ts';
import type { Window, WindowSpec } from './windows/window.ts';

export interface Source<T> {
  log: Log;
  topic: string;
  decode: (record: LogRecord) => T;
  /** Event time in epoch ms; NaN or a throw sends the record to dead letters. */
  eventTime: (value: T, record: LogRecord) => number;
  /** How far behind the newest event time of a partition its watermark trails. */
  outOfOrdernessMs: number;
}

/** An element that arrived after its window closed (or that an operator could no longer check). */
export interface LateEvent<T = unknown> {
  pipeline: string;
  value: T;
  eventTime: number;
  watermark: number;
  reason: string;
  record: LogRecord;
}

/** Where late elements go: a topic name (the original record is appended) or a sink. */
export type LateOutput = string | Sink<LateEvent>;

export interface AggregateStage {
  key: (value: unknown) => unknown;
  /** Null: one never-closing window per key (a running aggregate, e.g. a user profile). */
  window: WindowSpec | null;
  agg: Aggregate<unknown, unknown, unknown>;
  allowedLatenessMs: number;
}

export type Terminal =
  | { kind: 'sink'; sink: Sink<unknown> }
  | {
      kind: 'topic';
      topic: string;
      encode: (value: unknown) => Uint8Array;
      key: ((value: unknown) => string | null) | undefined;
    };

/** A built pipeline: what `.to(...)` returns and what an engine runs. */
export interface Pipeline {
  readonly name: string;
  readonly source: Source<unknown>;
  /** Runs per record. */
  readonly ops: readonly Operator[];
  readonly aggregate: AggregateStage | undefined;
  /** Runs per emitted aggregate result (stateless operators only). */
  readonly post: readonly Operator[];
  readonly terminal: Terminal;
  readonly late: LateOutput;
  // biome-ignore lint/suspicious/noExplicitAny: tables of any element/value type can be joined
  readonly tables: readonly Table<any, any>[];
}

/** What a windowed aggregate emits: the current value of one key's window. */
export interface WindowResult<K, R> {
  key: K;
  window: Window;
  value: R;
}

/** What a running (unwindowed) keyed aggregate emits. */
export interface KeyedResult<K, R> {
  key: K;
  value: R;
}
