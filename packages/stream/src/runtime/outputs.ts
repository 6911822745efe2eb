import { createHash } from 'node:crypto';
import type { Log, RecordInput } from '@tracklane/log';
import type { CheckpointOutput } from '../checkpoint/checkpointer.ts';
import type { Push, RecordScope } from '../operators/operator.ts';
import type { LateEvent, Pipeline, WindowResult } from '../pipeline.ts';
import type { Sink } from '../sinks/sink.ts';
import type { TaskSnapshot } from './task.ts';

/** A session window's result while the session is still open (see `Sink.openSessions`). */
export interface OpenWindowResult<K, R> extends WindowResult<K, R> {
  /** True while the session can still grow or merge; absent on the final result. */
  open?: true;
}

export type DeadLetterFn = (
  pipeline: Pipeline,
  stage: string,
  reason: string,
  payload: Uint8Array,
  headers: Record<string, string>,
) => Promise<void>;

/**
 * Writes what a checkpoint produced: runs the post-aggregate operators over the results, then hands them
 * to the terminal; appends branch outputs and late events. Called inside the checkpoint transaction.
 */
export async function writeOutputs(
  log: Log,
  outputs: CheckpointOutput[],
  deadLetter: DeadLetterFn,
): Promise<void> {
  const appends = new Map<string, RecordInput[]>();
  const add = (topic: string, record: RecordInput) => {
    let list = appends.get(topic);
    if (list === undefined) {
      list = [];
      appends.set(topic, list);
    }
    list.push(record);
  };
  const writes: Promise<void>[] = [];
  for (const { pipeline, items, snapshots, version } of outputs) {
    const late: LateEvent[] = [];
    for (const s of snapshots) {
      const ids = new OutputIds(pipeline.name);
      for (const out of s.topicOut) {
        const headers = { ...out.headers };
        const source = sourceOf(headers);
        if (source !== undefined) headers.id = ids.next(out.topic, source);
        add(out.topic, { key: out.key, value: out.value, headers });
      }
      for (const l of s.late) late.push(l);
    }
    if (late.length > 0) {
      if (typeof pipeline.late === 'string') {
        const ids = new OutputIds(pipeline.name);
        for (const l of late) {
          add(pipeline.late, {
            key: l.record.key,
            value: l.record.value,
            headers: {
              id: ids.next(pipeline.late, l.record),
              pipeline: pipeline.name,
              reason: l.reason,
              'event-time': String(l.eventTime),
              watermark: String(l.watermark),
              'source-topic': l.record.topic,
              'source-partition': String(l.record.partition),
              'source-offset': String(l.record.offset),
            },
          });
        }
      } else {
        writes.push(pipeline.late.write(late, { version }));
      }
    }
    const terminal = pipeline.terminal;
    const all =
      terminal.kind === 'sink' && terminal.sink.openSessions === true
        ? [...items, ...openSessions(pipeline, snapshots)]
        : items;
    const results = await runPost(pipeline, all, deadLetter, version);
    if (results.length === 0) continue;
    if (terminal.kind === 'sink') {
      writes.push(terminal.sink.write(results, { version }));
    } else {
      // Aggregate results are updates, not once-only messages: the version orders those of one key.
      for (const r of results) {
        add(terminal.topic, {
          key: terminal.key ? terminal.key(r) : null,
          value: terminal.encode(r),
          headers: { pipeline: pipeline.name, version: String(version) },
        });
      }
    }
  }
  for (const [topic, records] of appends) writes.push(log.append(topic, records).then(() => undefined));
  await Promise.all(writes);
}

interface SourcePosition {
  topic: string;
  partition: number;
  offset: number;
}

/** The input record an output came from, from its `source-*` headers. */
function sourceOf(headers: Record<string, string>): SourcePosition | undefined {
  const topic = headers['source-topic'];
  const partition = headers['source-partition'];
  const offset = headers['source-offset'];
  if (topic === undefined || partition === undefined || offset === undefined) return undefined;
  return { topic, partition: Number(partition), offset: Number(offset) };
}

/**
 * Ids of outputs (`id` header) derived from the input record each came from and its rank among that
 * record's outputs to the same topic. Outputs are appended at-least-once (a checkpoint retried, or redone
 * after a crash, appends them again), but a record always yields the same outputs in the same order, all
 * in one snapshot, so a repeat carries the same id and a consumer that drops known ids sees each once.
 */
class OutputIds {
  private readonly seen = new Map<string, number>();

  constructor(private readonly pipeline: string) {}

  next(topic: string, source: SourcePosition): string {
    const base = `${topic}/${this.pipeline}/${source.topic}/${source.partition}/${source.offset}`;
    const rank = this.seen.get(base) ?? 0;
    this.seen.set(base, rank + 1);
    return `${base}/${rank}`;
  }
}

/**
 * The open sessions of every key whose sessions changed in this checkpoint (the task hands over their
 * state as JSON for the state store): all of the key's open sessions, so a sink can treat them as the
 * key's complete open set. Each is the result of the session as it stands, with the window it has now.
 */
function openSessions(pipeline: Pipeline, snapshots: TaskSnapshot[]): OpenWindowResult<unknown, unknown>[] {
  const stage = pipeline.aggregate;
  if (stage?.window?.kind !== 'session') return [];
  const { agg } = stage;
  const { gapMs } = stage.window;
  const out: OpenWindowResult<unknown, unknown>[] = [];
  for (const s of snapshots) {
    for (const [, json] of s.sessions) {
      if (json === null) continue;
      const entry = JSON.parse(json) as {
        key: unknown;
        list: Array<{ start: number; end: number; acc: unknown }>;
      };
      for (const session of entry.list) {
        out.push({
          key: entry.key,
          window: { start: session.start, end: session.end + gapMs },
          value: agg.result(agg.fromJSON(session.acc)),
          open: true,
        });
      }
    }
  }
  return out;
}

async function runPost(
  pipeline: Pipeline,
  items: unknown[],
  deadLetter: DeadLetterFn,
  version: number,
): Promise<unknown[]> {
  if (pipeline.post.length === 0) return items;
  const out: unknown[] = [];
  const scope = { stage: '' } as RecordScope;
  let head: Push = (value) => {
    out.push(value);
  };
  const noState = { seen: () => new Map<string, number>() };
  for (let i = pipeline.post.length - 1; i >= 0; i--)
    head = pipeline.post[i]!.compile(head, scope, noState, i);
  for (const item of items) {
    try {
      head(item);
    } catch (err) {
      // Results are recomputed from state, so a failing result mapper would fail again: dead-letter it.
      const reason = err instanceof Error ? err.message : String(err);
      const payload = Buffer.from(JSON.stringify(item));
      // Named by content: the same result failing again on a retried checkpoint is the same dead letter.
      const digest = createHash('sha256').update(payload).digest('hex').slice(0, 32);
      await deadLetter(pipeline, scope.stage, reason, payload, {
        id: `${pipeline.name}/${scope.stage}/${digest}`,
        version: String(version),
      });
    }
  }
  return out;
}

export async function openSinks(pipelines: readonly Pipeline[]): Promise<void> {
  const opened = new Set<Sink<unknown>>();
  for (const p of pipelines) {
    const sinks: Array<Sink<unknown> | undefined> = [
      p.terminal.kind === 'sink' ? p.terminal.sink : undefined,
    ];
    if (typeof p.late !== 'string') sinks.push(p.late as Sink<unknown>);
    for (const sink of sinks) {
      if (sink === undefined || opened.has(sink)) continue;
      opened.add(sink);
      await sink.open?.();
    }
  }
}
