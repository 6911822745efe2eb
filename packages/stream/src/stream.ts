import { TracklaneError } from '@tracklane/core';
import type { Log, LogRecord } from '@tracklane/log';
import type { Aggregate } from './aggregates/aggregate.ts';
import { type BranchRoute, branchOp, encodeJson } from './operators/branch.ts';
import { dedupeOp } from './operators/dedupe.ts';
import { filterOp } from './operators/filter.ts';
import { flatMapOp } from './operators/flat-map.ts';
import { joinTableOp } from './operators/join-table.ts';
import { mapOp } from './operators/map.ts';
import type { Operator } from './operators/operator.ts';
import type {
  AggregateStage,
  KeyedResult,
  LateOutput,
  Pipeline,
  Source,
  Terminal,
  WindowResult,
} from './pipeline.ts';
import type { Sink } from './sinks/sink.ts';
import type { Table } from './state/table.ts';
import { type Duration, toMs } from './windows/duration.ts';
import type { FixedWindows, SessionWindows, WindowSpec } from './windows/window.ts';

export interface FromOptions<T> {
  /** Event time of an element, epoch ms. Default: the record's append timestamp. */
  eventTime?: (value: T, record: LogRecord) => number;
  /** Bounded out-of-orderness: the watermark trails the newest event time by this much. Default 0. */
  outOfOrderness?: Duration;
}

export const DEFAULT_LATE_TOPIC = 'late-events';

interface Chain {
  source: Source<unknown>;
  ops: Operator[];
  aggregate: AggregateStage | undefined;
  post: Operator[];
  late: LateOutput;
  // biome-ignore lint/suspicious/noExplicitAny: see Pipeline.tables
  tables: Table<any, any>[];
}

/** Starts a pipeline over a Log topic. `decode` turns a record into the element type (throw = poison). */
export function from<T>(
  log: Log,
  topic: string,
  decode: (record: LogRecord) => T,
  options: FromOptions<T> = {},
): Stream<T> {
  const eventTime = options.eventTime ?? ((_value: T, record: LogRecord) => record.timestamp);
  const source: Source<unknown> = {
    log,
    topic,
    decode,
    eventTime: eventTime as Source<unknown>['eventTime'],
    outOfOrdernessMs: toMs(options.outOfOrderness ?? 0),
  };
  return new Stream<T>({
    source,
    ops: [],
    aggregate: undefined,
    post: [],
    late: DEFAULT_LATE_TOPIC,
    tables: [],
  });
}

/** Decodes a JSON record value. */
export function decodeJson<T>(record: LogRecord): T {
  return JSON.parse(record.value.toString('utf8')) as T;
}

export class Stream<T> {
  /** @internal */
  constructor(private readonly chain: Chain) {}

  private with<U>(op: Operator): Stream<U> {
    const { chain } = this;
    if (chain.aggregate !== undefined) {
      if (!op.stateless) {
        throw new TracklaneError(
          'E_BAD_ARGUMENT',
          `${op.kind} cannot follow aggregate: only filter/map/flatMap can`,
        );
      }
      return new Stream({ ...chain, post: [...chain.post, op] });
    }
    return new Stream({ ...chain, ops: [...chain.ops, op] });
  }

  private stageName(kind: string, name: string | undefined): string {
    return name ?? `${kind}#${this.chain.ops.length + this.chain.post.length + 1}`;
  }

  filter(fn: (value: T) => boolean, name?: string): Stream<T> {
    return this.with(filterOp(fn, this.stageName('filter', name)));
  }

  map<U>(fn: (value: T) => U, name?: string): Stream<U> {
    return this.with(mapOp(fn, this.stageName('map', name)));
  }

  flatMap<U>(fn: (value: T) => Iterable<U>, name?: string): Stream<U> {
    return this.with(flatMapOp(fn, this.stageName('flatMap', name)));
  }

  /** Drops repeats of the same id (e.g. messageId); see `dedupeOp` for the horizon. Default horizon 1h. */
  dedupe(
    id: (value: T) => string | null | undefined,
    options: { horizon?: Duration; name?: string } = {},
  ): Stream<T> {
    return this.with(dedupeOp(id, toMs(options.horizon ?? '1h'), this.stageName('dedupe', options.name)));
  }

  /** Appends elements matching a route to its topic; the rest continue. */
  branch(routes: BranchRoute<T>[], name?: string): Stream<T> {
    return this.with(branchOp(routes, this.stageName('branch', name)));
  }

  /** Enriches each element with the table's current value for its key. */
  joinTable<V, U>(
    // biome-ignore lint/suspicious/noExplicitAny: the table's element type does not matter to the join
    table: Table<any, V>,
    key: (value: T) => string | null | undefined,
    join: (value: T, tableValue: V | undefined) => U,
    name?: string,
  ): Stream<U> {
    const next = this.with(joinTableOp(table, key, join, this.stageName('join', name)));
    return new Stream({ ...next.chain, tables: [...this.chain.tables, table] });
  }

  /** Where late elements go (default: the `late-events` topic). */
  lateTo(output: LateOutput): Stream<T> {
    return new Stream({ ...this.chain, late: output });
  }

  keyBy<K>(key: (value: T) => K): KeyedStream<T, K> {
    if (this.chain.aggregate !== undefined) {
      throw new TracklaneError(
        'E_BAD_ARGUMENT',
        'one aggregate per pipeline: write the results to a topic and start another',
      );
    }
    return new KeyedStream<T, K>(this.chain, key);
  }

  to(sink: Sink<T>, options: { name: string }): Pipeline {
    return this.build({ kind: 'sink', sink: sink as Sink<unknown> }, options.name);
  }

  toTopic(
    topic: string,
    options: { name: string; encode?: (value: T) => Uint8Array; key?: (value: T) => string | null },
  ): Pipeline {
    return this.build(
      {
        kind: 'topic',
        topic,
        encode: (options.encode ?? encodeJson) as (value: unknown) => Uint8Array,
        key: options.key as ((value: unknown) => string | null) | undefined,
      },
      options.name,
    );
  }

  private build(terminal: Terminal, name: string): Pipeline {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
      throw new TracklaneError('E_BAD_ARGUMENT', `pipeline name '${name}' must match ^[a-z_][a-z0-9_]*$`);
    }
    const { source, ops, aggregate, post, late, tables } = this.chain;
    return { name, source, ops, aggregate, post, terminal, late, tables: [...new Set(tables)] };
  }
}

export interface WindowOptions {
  /** How long after the watermark passes a window's end it still accepts events. Default 0. */
  allowedLateness?: Duration;
}

export class KeyedStream<T, K> {
  /** @internal */
  constructor(
    private readonly chain: Chain,
    private readonly key: (value: T) => K,
  ) {}

  window(spec: FixedWindows | SessionWindows, options: WindowOptions = {}): WindowedStream<T, K> {
    return new WindowedStream(this.chain, this.key, spec, options);
  }

  /** A running aggregate per key that never closes (e.g. a user profile). */
  aggregate<A, R>(agg: Aggregate<T, A, R>): Stream<KeyedResult<K, R>> {
    return new Stream({ ...this.chain, aggregate: stage(this.key, null, agg, {}) });
  }
}

export class WindowedStream<T, K> {
  /** @internal */
  constructor(
    private readonly chain: Chain,
    private readonly key: (value: T) => K,
    private readonly spec: WindowSpec,
    private readonly options: WindowOptions,
  ) {}

  aggregate<A, R>(agg: Aggregate<T, A, R>): Stream<WindowResult<K, R>> {
    return new Stream({ ...this.chain, aggregate: stage(this.key, this.spec, agg, this.options) });
  }
}

function stage<T, K, A, R>(
  key: (value: T) => K,
  window: WindowSpec | null,
  agg: Aggregate<T, A, R>,
  options: WindowOptions,
): AggregateStage {
  return {
    key: key as (value: unknown) => unknown,
    window,
    agg: agg as unknown as Aggregate<unknown, unknown, unknown>,
    allowedLatenessMs: toMs(options.allowedLateness ?? 0),
  };
}
