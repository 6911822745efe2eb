import { TracklaneError } from '@tracklane/core';
import type { Log } from '@tracklane/log';
import type { Store } from '@tracklane/storage';
import { Checkpointer } from './checkpoint/checkpointer.ts';
import type { LateEvent, Pipeline } from './pipeline.ts';
import { BUILTIN_PIPELINES, findBuiltin } from './pipelines/builtin.ts';
import type { Projection } from './pipelines/projection.ts';
import { openSinks, writeOutputs } from './runtime/outputs.ts';
import { Processor } from './runtime/processor.ts';
import { openStateDb } from './state/state-db.ts';

export interface ReplayProgress {
  /** Records processed so far. */
  done: number;
  /** Records to process: from the start position to each partition's end when the replay began. */
  total: number;
}

export interface ReplayOptions {
  log: Log;
  store: Store;
  /** A built-in pipeline name (`event_counts_minute`, `sessions`, ...) or a projection. */
  pipeline: string | Projection;
  /** An offset (applied to every partition, clamped to what is retained) or a time. Default: earliest. */
  from?: number | Date;
  onProgress?: (progress: ReplayProgress) => void;
  /** See BuiltinPipelinesOptions.exact. */
  exact?: boolean;
  /** Records per state checkpoint (and sink write). Default 50 000. */
  batchRecords?: number;
}

export interface ReplayResult {
  table: string;
  records: number;
  /** Events that were late on replay too (counted, not re-sent to the late topic). */
  late: number;
  deadLettered: number;
}

/**
 * Rebuilds a projection from the log: runs the pipeline with fresh in-memory state over the topic from
 * `from` to the end offsets as they were when the replay started, writing into `<name>__rebuild`, then
 * swaps that table in atomically. The live pipeline keeps running meanwhile and keeps upserting the rows
 * of windows it touches after the swap.
 */
export async function replayPipeline(options: ReplayOptions): Promise<ReplayResult> {
  const { log, store } = options;
  const projection = typeof options.pipeline === 'string' ? findBuiltin(options.pipeline) : options.pipeline;
  if (projection === undefined) {
    const names = BUILTIN_PIPELINES.map((p) => p.name).join(', ');
    throw new TracklaneError(
      'E_NOT_FOUND',
      `no pipeline '${String(options.pipeline)}'; built-in ones: ${names}`,
    );
  }
  const rebuild = `${projection.name}__rebuild`;
  await store.dropTable(rebuild).catch(() => undefined);
  let late = 0;
  const built = projection.build({ log, store, tableName: rebuild, exact: options.exact ?? false });
  const pipeline: Pipeline = {
    ...built,
    late: {
      async write(items: LateEvent[]) {
        late += items.length;
      },
    },
  };
  await openSinks([pipeline]);
  const topic = pipeline.source.topic;
  const ranges: Array<{ partition: number; start: number; end: number }> = [];
  for (const { partition, start, end } of await log.offsets(topic)) {
    let from = start;
    if (options.from instanceof Date) {
      from = await log.offsetForTimestamp(topic, partition, options.from.getTime());
    } else if (options.from !== undefined) {
      from = Math.min(end, Math.max(start, options.from));
    }
    ranges.push({ partition, start: from, end });
  }
  const total = ranges.reduce((n, r) => n + (r.end - r.start), 0);
  const state = openStateDb(':memory:');
  const processor = new Processor({ log, pipelines: [pipeline] });
  const batchRecords = options.batchRecords ?? 50_000;
  let done = 0;
  try {
    const checkpointer = new Checkpointer(state, topic, 'replay', ranges.length);
    await checkpointer.claim(ranges.map((r) => r.partition));
    for (const table of pipeline.tables) await table.catchUp();
    options.onProgress?.({ done, total });
    let sinceCommit = 0;
    const commit = async () => {
      const { snapshots } = processor.capture();
      const offsets = [...processor.positions].map(([partition, offset]) => ({ partition, offset }));
      await checkpointer.commit(snapshots, offsets, (outputs) =>
        writeOutputs(log, outputs, async () => {
          // A result mapper failed on replay; the live pipeline already dead-lettered the same result.
        }),
      );
      sinceCommit = 0;
    };
    for (const range of ranges) {
      processor.addPartition(range.partition, range.start, () => undefined);
      let offset = range.start;
      while (offset < range.end) {
        const records = await log.read(topic, range.partition, offset, {
          maxRecords: Math.min(5000, range.end - offset),
        });
        if (records.length === 0) break;
        const slice = records.filter((r) => r.offset < range.end);
        await processor.process(slice);
        offset = records[records.length - 1]!.offset + 1;
        done += slice.length;
        sinceCommit += slice.length;
        if (sinceCommit >= batchRecords) await commit();
        options.onProgress?.({ done, total });
      }
    }
    await commit();
    await store.swapTable(rebuild, projection.name);
  } finally {
    state.release();
  }
  return { table: projection.name, records: done, late, deadLettered: processor.stats.deadLettered };
}
