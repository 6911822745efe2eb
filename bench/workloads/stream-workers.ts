import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '@tracklane/log';
import type { Row, TableDefinition } from '@tracklane/storage';
import {
  count,
  decodeJson,
  from,
  type PipelineFactory,
  type SinkStore,
  startEngine,
  startWorkerPool,
  storeSink,
  tumbling,
  type WindowResult,
} from '@tracklane/stream';
import type { BenchContext, BenchResult, Workload } from '../result.ts';
import { type AdEvent, campaignOf, fill } from './stream-windowed.ts';

/*
 * The YSB windowed count of stream-windowed.ts, run by 1 and by 2 stream worker threads, against one engine
 * on the main thread over the same log. The counts go to a store through a sink, as the built-in
 * pipelines' do: from a worker that is a round trip to the main thread, which holds the store. What is
 * compared is wall-clock throughput (events/s), the thing parallelism is for; events/s per core of the
 * whole process (all threads) shows what the threads cost.
 */

const TABLE: TableDefinition = {
  name: 'ysb_counts',
  columns: [
    { name: 'campaign', type: 'string' },
    { name: 'window_start', type: 'int' },
    { name: 'views', type: 'int' },
  ],
  primaryKey: ['campaign', 'window_start'],
};

/** The pipeline, built the same way on the main thread and in every worker. */
export const ysbPipelines: PipelineFactory = ({ log, store }) => [
  from(log, 'ads', decodeJson<AdEvent>, { eventTime: (e) => e.event_time, outOfOrderness: '1s' })
    .filter((e) => e.event_type === 'view')
    .map((e) => campaignOf.get(e.ad_id) ?? 'unknown')
    .keyBy((campaign) => campaign)
    .window(tumbling('10s'))
    .aggregate(count())
    .to(
      storeSink(store!, TABLE, (r: WindowResult<string, number>) => ({
        campaign: r.key,
        window_start: r.window.start,
        views: r.value,
      })),
      { name: 'ysb' },
    ),
];

/** A store that keeps rows in memory: the sink is not what is measured. */
function memoryStore(): SinkStore & { rows: Map<string, Row> } {
  const rows = new Map<string, Row>();
  return {
    rows,
    async defineTable() {},
    async upsert(_table: string, batch: Row[]) {
      for (const r of batch) rows.set(`${r.campaign}@${r.window_start}`, r);
    },
  };
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

interface Running {
  lag(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Throughput from the moment the engine (or every worker) is running: thread start-up, which includes
 * tsx compiling the sources in each new thread, is a one-off cost and is reported apart.
 */
async function measure(log: EmbeddedLog, dir: string, workers: number, total: number, ctx: BenchContext) {
  const store = memoryStore();
  const common = { group: `ysb-${workers}`, stateDir: dir, maxPollRecords: 5000, checkpointIntervalMs: 200 };
  const startedAt = performance.now();
  const running: Running =
    workers === 0
      ? await startEngine({
          ...common,
          log,
          pipelines: await ysbPipelines({ log, store, data: undefined, worker: 0 }),
        })
      : await startWorkerPool({
          ...common,
          log,
          store,
          module: new URL(import.meta.url),
          exportName: 'ysbPipelines',
          workers,
        });
  const startS = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage();
  const started = performance.now();
  // What was not checkpointed yet when the last worker came up is what the measured interval processed.
  const backlog = await running.lag();
  for (;;) {
    const lag = await running.lag();
    ctx.progress(workers === 0 ? 'main thread' : `${workers} worker(s)`, total - lag, total);
    if (lag === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const wallS = (performance.now() - started) / 1000;
  const cpuS = cpuSeconds(cpu);
  await running.stop();
  return { rows: store.rows, rate: backlog / wallS, perCpuS: backlog / cpuS, backlog, startS };
}

const workload: Workload = {
  name: 'stream-workers',
  description: 'YSB windowed count in 1 and 2 stream worker threads vs one engine on the main thread',
  async run(ctx) {
    const total = ctx.quick ? 200_000 : 2_000_000;
    const log = await EmbeddedLog.open(join(ctx.tmpDir, 'log'), { retentionCheckIntervalMs: 0 });
    try {
      await fill(log, total, ctx);
      // Warm up the main thread's JIT with one run of the same pipeline, then measure. Each worker starts cold.
      await measure(log, join(ctx.tmpDir, 'warm'), 0, total, ctx);
      const main = await measure(log, join(ctx.tmpDir, 'main'), 0, total, ctx);
      const results: BenchResult[] = [];
      for (const workers of [1, 2]) {
        const run = await measure(log, join(ctx.tmpDir, `w${workers}`), workers, total, ctx);
        for (const [key, row] of main.rows) {
          if (run.rows.get(key)?.views !== row.views)
            throw new Error(`${workers} workers disagree on ${key}`);
        }
        results.push({
          workload: 'stream-workers',
          name: `YSB windowed count, ${workers} worker thread(s) (${total.toLocaleString('en')} events, 4 partitions)`,
          value: Math.round(run.rate),
          unit: 'events/s',
          baseline: { name: 'one engine on the main thread', value: Math.round(main.rate) },
          ratio: round(run.rate / main.rate),
          extra: {
            measuredEvents: run.backlog,
            threadStartS: round(run.startS),
            eventsPerProcessCpuSecond: Math.round(run.perCpuS),
            mainThreadEventsPerCpuSecond: Math.round(main.perCpuS),
            machineCores: availableParallelism(),
            loadAverage1m: round(loadavg()[0]!),
          },
        });
      }
      return results;
    } finally {
      await log.close();
    }
  },
};

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

export default workload;
