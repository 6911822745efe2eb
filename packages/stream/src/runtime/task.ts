import { TracklaneError } from '@tracklane/core';
import type { LogRecord } from '@tracklane/log';
import type { Operator, Push, RecordScope, TopicOutput } from '../operators/operator.ts';
import type { LateEvent, Pipeline } from '../pipeline.ts';
import { addToSessions, type OpenSession } from '../windows/session.ts';
import type { Window } from '../windows/window.ts';

/** One window's accumulated change since the last checkpoint. */
export interface Delta {
  key: unknown;
  /** Null for a running (unwindowed) aggregate. */
  window: Window | null;
  acc: unknown;
}

interface KeySessions {
  key: unknown;
  list: OpenSession<unknown>[];
}

/** Everything a task produced since the previous capture, frozen so processing can go on meanwhile. */
export interface TaskSnapshot {
  pipeline: Pipeline;
  partition: number;
  watermark: number;
  /** [opIndex, id, eventTime] of ids first seen since the last capture. */
  newIds: Array<[number, string, number]>;
  /** Per dedupe operator: ids with event time below this may be forgotten. */
  forgetBefore: Array<[number, number]>;
  deltas: Map<string, Delta>;
  /** Session state of keys that changed: [key string, JSON or null when the key has no open session]. */
  sessions: Array<[string, string | null]>;
  /** Items ready for the terminal (closed sessions, plain stream elements). */
  emitted: unknown[];
  topicOut: TopicOutput[];
  late: LateEvent[];
}

/** Persisted state a task resumes from. */
export interface TaskState {
  watermark: number;
  ids: Array<[number, string, number]>;
  sessions: Array<[string, string]>;
}

/** A failure while processing one record, with the stage that threw. */
export class StageError extends Error {
  constructor(
    readonly stage: string,
    readonly original: unknown,
  ) {
    super(original instanceof Error ? original.message : String(original), { cause: original });
    this.name = 'StageError';
  }
}

export function keyString(key: unknown): string {
  return typeof key === 'string' ? key : (JSON.stringify(key) ?? 'undefined');
}

/**
 * One pipeline on one partition: a Kafka Streams task. Owns the partition's watermark, dedupe ids and open
 * sessions, and accumulates window deltas between checkpoints. Processing is synchronous and allocation
 * light; every stateful effect of a record is applied only after its whole chain succeeded.
 */
export class PipelineTask {
  watermark = Number.NEGATIVE_INFINITY;
  private readonly seenByOp = new Map<number, Map<string, number>>();
  private newIds: Array<[number, string, number]> = [];
  private deltas = new Map<string, Delta>();
  /** Fixed-window deltas by key, then window start: no string building per record and window. */
  private windowDeltas = new Map<string, Map<number, Delta>>();
  private readonly sessions = new Map<string, KeySessions>();
  private dirtySessions = new Set<string>();
  private emitted: unknown[] = [];
  private topicOut: TopicOutput[] = [];
  private late: LateEvent[] = [];
  private readonly head: Push;
  private readonly scope: RecordScope;
  /** [key, extracted, value] triples queued by the aggregate terminal for the current record. */
  private readonly pendingAgg: unknown[] = [];
  private readonly pendingOut: unknown[] = [];
  private readonly starts: number[] = [];

  constructor(
    readonly pipeline: Pipeline,
    readonly partition: number,
  ) {
    this.scope = {
      record: undefined as unknown as LogRecord,
      ts: 0,
      watermark: this.watermark,
      stage: '',
      pendingIds: [],
      pendingLate: [],
      pendingTopic: [],
    };
    this.head = this.compile();
  }

  private compile(): Push {
    const { pipeline, scope } = this;
    let next: Push;
    const agg = pipeline.aggregate;
    if (agg !== undefined) {
      const pending = this.pendingAgg;
      next = (value) => {
        scope.stage = 'keyBy';
        const key = agg.key(value);
        scope.stage = agg.agg.name;
        pending.push(key, agg.agg.extract(value), value);
      };
    } else if (pipeline.terminal.kind === 'topic') {
      const { topic, encode, key } = pipeline.terminal;
      next = (value) => {
        scope.stage = `to ${topic}`;
        scope.pendingTopic.push({
          topic,
          key: key ? key(value) : scope.record.key,
          value: encode(value),
          headers: {
            'source-topic': scope.record.topic,
            'source-partition': String(scope.record.partition),
            'source-offset': String(scope.record.offset),
          },
        });
      };
    } else {
      const pending = this.pendingOut;
      next = (value) => {
        pending.push(value);
      };
    }
    const state = { seen: (op: number) => this.seen(op) };
    const ops: readonly Operator[] = pipeline.ops;
    for (let i = ops.length - 1; i >= 0; i--) next = ops[i]!.compile(next, scope, state, i);
    return next;
  }

  private seen(op: number): Map<string, number> {
    let map = this.seenByOp.get(op);
    if (map === undefined) {
      map = new Map();
      this.seenByOp.set(op, map);
    }
    return map;
  }

  restore(state: TaskState): void {
    this.watermark = state.watermark;
    for (const [op, id, ts] of state.ids) this.seen(op).set(id, ts);
    const agg = this.pipeline.aggregate?.agg;
    for (const [k, json] of state.sessions) {
      const parsed = JSON.parse(json) as {
        key: unknown;
        list: Array<{ start: number; end: number; acc: unknown }>;
      };
      this.sessions.set(k, {
        key: parsed.key,
        list: parsed.list.map((s) => ({ start: s.start, end: s.end, acc: agg!.fromJSON(s.acc) })),
      });
    }
  }

  /** Runs one decoded record through the pipeline. Throws `StageError` with state untouched on failure. */
  process(record: LogRecord, value: unknown): void {
    const { scope, pipeline } = this;
    scope.record = record;
    scope.stage = 'eventTime';
    scope.watermark = this.watermark;
    if (scope.pendingIds.length > 0) scope.pendingIds.length = 0;
    if (scope.pendingLate.length > 0) scope.pendingLate.length = 0;
    if (scope.pendingTopic.length > 0) scope.pendingTopic.length = 0;
    if (this.pendingAgg.length > 0) this.pendingAgg.length = 0;
    if (this.pendingOut.length > 0) this.pendingOut.length = 0;
    let ts: number;
    try {
      ts = pipeline.source.eventTime(value, record);
      if (!Number.isFinite(ts)) {
        throw new TracklaneError('E_VALIDATION', `event time is not a finite number (${ts})`);
      }
      scope.ts = ts;
      this.head(value);
    } catch (err) {
      throw new StageError(scope.stage, err);
    }
    this.apply(ts);
  }

  private apply(ts: number): void {
    const { scope, pipeline } = this;
    // Length checks first: most records touch none of these, and this runs once per record.
    if (scope.pendingIds.length > 0) {
      for (const [op, id] of scope.pendingIds) {
        this.seen(op).set(id, ts);
        this.newIds.push([op, id, ts]);
      }
    }
    if (scope.pendingLate.length > 0)
      for (const [value, reason] of scope.pendingLate) this.addLate(value, ts, reason);
    if (scope.pendingTopic.length > 0) for (const out of scope.pendingTopic) this.topicOut.push(out);
    const out = this.pendingOut;
    for (let i = 0; i < out.length; i++) this.emitted.push(out[i]);
    const pending = this.pendingAgg;
    for (let i = 0; i < pending.length; i += 3)
      this.accumulate(pending[i], pending[i + 1], pending[i + 2], ts);
    const candidate = ts - pipeline.source.outOfOrdernessMs;
    if (candidate > this.watermark) this.watermark = candidate;
  }

  private addLate(value: unknown, ts: number, reason: string): void {
    this.late.push({
      pipeline: this.pipeline.name,
      value,
      eventTime: ts,
      watermark: this.watermark,
      reason,
      record: this.scope.record,
    });
  }

  private accumulate(key: unknown, extracted: unknown, value: unknown, ts: number): void {
    const stage = this.pipeline.aggregate!;
    const { agg, window, allowedLatenessMs } = stage;
    const ks = keyString(key);
    if (window === null) {
      let delta = this.deltas.get(ks);
      if (delta === undefined) {
        delta = { key, window: null, acc: agg.create() };
        this.deltas.set(ks, delta);
      }
      delta.acc = agg.add(delta.acc, extracted);
      return;
    }
    if (window.kind === 'session') {
      // An event this far behind could belong to a session already emitted as final (see capture).
      if (ts < this.watermark - allowedLatenessMs) {
        this.addLate(value, ts, 'session closed');
        return;
      }
      let entry = this.sessions.get(ks);
      if (entry === undefined) {
        entry = { key, list: [] };
        this.sessions.set(ks, entry);
      }
      addToSessions(entry.list, ts, window.gapMs, agg, extracted);
      this.dirtySessions.add(ks);
      return;
    }
    const starts = this.starts;
    starts.length = 0;
    window.assign(ts, starts);
    let accepted = false;
    let byStart = this.windowDeltas.get(ks);
    for (let i = 0; i < starts.length; i++) {
      const start = starts[i]!;
      const end = start + window.sizeMs;
      if (end + allowedLatenessMs <= this.watermark) continue;
      accepted = true;
      if (byStart === undefined) {
        byStart = new Map();
        this.windowDeltas.set(ks, byStart);
      }
      let delta = byStart.get(start);
      if (delta === undefined) {
        delta = { key, window: { start, end }, acc: agg.create() };
        byStart.set(start, delta);
      }
      delta.acc = agg.add(delta.acc, extracted);
    }
    if (!accepted) this.addLate(value, ts, 'window closed');
  }

  /**
   * Freezes what was produced since the previous capture. Sessions whose window closed (the watermark
   * passed last event + gap + allowed lateness) are emitted as final here and forgotten: any event that
   * could still have joined one is already classed late by `accumulate`, so the result does not depend
   * on when captures happen.
   */
  capture(): TaskSnapshot {
    const { pipeline } = this;
    const stage = pipeline.aggregate;
    if (stage?.window?.kind === 'session') {
      const closeBefore = this.watermark - stage.window.gapMs - stage.allowedLatenessMs;
      for (const [ks, entry] of this.sessions) {
        let changed = false;
        while (entry.list.length > 0 && entry.list[0]!.end < closeBefore) {
          const s = entry.list.shift()!;
          this.emitted.push({
            key: entry.key,
            window: { start: s.start, end: s.end + stage.window.gapMs },
            value: stage.agg.result(s.acc),
          });
          changed = true;
        }
        if (changed) {
          this.dirtySessions.add(ks);
          if (entry.list.length === 0) this.sessions.delete(ks);
        }
      }
    }
    const sessions: Array<[string, string | null]> = [];
    for (const ks of this.dirtySessions) {
      const entry = this.sessions.get(ks);
      sessions.push([
        ks,
        entry === undefined
          ? null
          : JSON.stringify({
              key: entry.key,
              list: entry.list.map((s) => ({ start: s.start, end: s.end, acc: stage!.agg.toJSON(s.acc) })),
            }),
      ]);
    }
    const forgetBefore: Array<[number, number]> = [];
    pipeline.ops.forEach((op, i) => {
      if (op.horizonMs === undefined) return;
      const before = this.watermark - op.horizonMs;
      forgetBefore.push([i, before]);
      const seen = this.seenByOp.get(i);
      if (seen === undefined) return;
      // Ids arrive roughly in event-time order, so trimming from the oldest insert is enough to bound
      // memory; stragglers are harmless because dedupe checks the horizon before the id set.
      for (const [id, ts] of seen) {
        if (ts >= before) break;
        seen.delete(id);
      }
    });
    // The checkpointer stores totals by one string per window; built here once per dirty window.
    for (const [ks, byStart] of this.windowDeltas) {
      for (const [start, delta] of byStart) this.deltas.set(`${ks}\u0001${start}`, delta);
    }
    this.windowDeltas = new Map();
    const snapshot: TaskSnapshot = {
      pipeline,
      partition: this.partition,
      watermark: this.watermark,
      newIds: this.newIds,
      forgetBefore,
      deltas: this.deltas,
      sessions,
      emitted: this.emitted,
      topicOut: this.topicOut,
      late: this.late,
    };
    this.newIds = [];
    this.deltas = new Map();
    this.dirtySessions = new Set();
    this.emitted = [];
    this.topicOut = [];
    this.late = [];
    return snapshot;
  }
}
