import { join } from 'node:path';
import { EmbeddedLog, type LogRecord, type RecordInput } from '@tracklane/log';
import {
  decodeJson,
  from,
  hopping,
  startEngine,
  type TopKEntry,
  topK,
  type WindowResult,
} from '@tracklane/stream';
import type { BenchContext, BenchResult, Workload } from '../result.ts';

/*
 * Nexmark q5-like "hot items": the auction with the most bids in each 10 s window sliding every 2 s. Each
 * bid is in five windows. The engine keeps a Space-Saving top-k per window (k = 1, exact here because the
 * auction count stays under its capacity); the baseline is a plain loop counting bids per (window,
 * auction) in a Map and taking the max per window, over the same records read from the same log.
 */

const PARTITIONS = 4;
const AUCTIONS = 500;
const BIDS_PER_SECOND = 20_000;
const SIZE_MS = 10_000;
const SLIDE_MS = 2_000;

interface Bid {
  auction: string;
  bidder: string;
  price: number;
  date_time: number;
}

function bid(i: number): RecordInput {
  // Skewed auctions (a few are hot), as in Nexmark's generator.
  const auction = `a-${Math.floor(AUCTIONS * ((i * 0.618033) % 1) ** 3)}`;
  const t = Date.UTC(2026, 0, 1) + Math.floor((i * 1000) / BIDS_PER_SECOND);
  const json = `{"auction":"${auction}","bidder":"b-${i % 9973}","price":${(i % 1000) + 1},"date_time":${t}}`;
  return { key: auction, value: Buffer.from(json) };
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

async function runEngine(log: EmbeddedLog, dir: string, total: number, ctx: BenchContext) {
  const hottest = new Map<number, TopKEntry>();
  const pipeline = from(log, 'bids', decodeJson<Bid>, { eventTime: (b) => b.date_time, outOfOrderness: '1s' })
    .keyBy(() => 'all')
    .window(hopping('10s', '2s'))
    .aggregate(topK((b: Bid) => b.auction, 1))
    .to(
      {
        async write(items: WindowResult<string, TopKEntry[]>[]) {
          for (const r of items) if (r.value[0] !== undefined) hottest.set(r.window.start, r.value[0]);
        },
      },
      { name: 'hot_items' },
    );
  const cpu = process.cpuUsage();
  const started = performance.now();
  const engine = await startEngine({
    log,
    pipelines: [pipeline],
    group: 'q5',
    stateDir: dir,
    maxPollRecords: 5000,
  });
  for (;;) {
    const lag = await engine.lag();
    ctx.progress('engine', total - lag, total);
    if (lag === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const result = { hottest, wallS: (performance.now() - started) / 1000, cpuS: cpuSeconds(cpu) };
  await engine.stop();
  return result;
}

async function runBaseline(log: EmbeddedLog) {
  const counts = new Map<number, Map<string, number>>();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let p = 0; p < PARTITIONS; p++) {
    let offset = 0;
    for (;;) {
      const records: LogRecord[] = await log.read('bids', p, offset, { maxRecords: 5000, maxBytes: 4 << 20 });
      if (records.length === 0) break;
      for (const record of records) {
        const b = JSON.parse(record.value.toString('utf8')) as Bid;
        const last = b.date_time - (b.date_time % SLIDE_MS);
        for (let start = last; start > b.date_time - SIZE_MS; start -= SLIDE_MS) {
          let window = counts.get(start);
          if (window === undefined) {
            window = new Map();
            counts.set(start, window);
          }
          window.set(b.auction, (window.get(b.auction) ?? 0) + 1);
        }
      }
      offset = records[records.length - 1]!.offset + 1;
    }
  }
  const hottest = new Map<number, TopKEntry>();
  for (const [start, window] of counts) {
    let best: TopKEntry = { value: '', count: 0 };
    for (const [value, n] of window) {
      if (n > best.count || (n === best.count && value < best.value)) best = { value, count: n };
    }
    hottest.set(start, best);
  }
  return { hottest, wallS: (performance.now() - started) / 1000, cpuS: cpuSeconds(cpu) };
}

const workload: Workload = {
  name: 'stream-hot-items',
  description: 'Nexmark q5-like hottest auction per 10 s window sliding by 2 s: engine vs a plain loop',
  async run(ctx) {
    const total = ctx.quick ? 200_000 : 1_000_000;
    const log = await EmbeddedLog.open(join(ctx.tmpDir, 'log'), { retentionCheckIntervalMs: 0 });
    try {
      await log.ensureTopic('bids', { partitions: PARTITIONS });
      for (let i = 0; i < total; i += 5000) {
        const records: RecordInput[] = [];
        for (let j = i; j < Math.min(total, i + 5000); j++) records.push(bid(j));
        await log.append('bids', records);
        ctx.progress('filling the log', i + records.length, total);
      }
      await runBaseline(log);
      const baseline = await runBaseline(log);
      const engine = await runEngine(log, join(ctx.tmpDir, 'state'), total, ctx);
      for (const [start, best] of baseline.hottest) {
        const got = engine.hottest.get(start);
        if (got?.count !== best.count) {
          throw new Error(
            `window ${start}: engine says ${JSON.stringify(got)}, baseline ${JSON.stringify(best)}`,
          );
        }
      }
      const enginePerCore = total / engine.cpuS;
      const baselinePerCore = total / baseline.cpuS;
      const results: BenchResult[] = [
        {
          workload: 'stream-hot-items',
          name: `Nexmark q5-like hot items (${total.toLocaleString('en')} bids, 5 windows each)`,
          value: Math.round(enginePerCore),
          unit: 'events/s/core',
          baseline: { name: 'plain JS loop, same records', value: Math.round(baselinePerCore) },
          ratio: Math.round((enginePerCore / baselinePerCore) * 100) / 100,
          extra: { engineWallEventsPerS: Math.round(total / engine.wallS) },
        },
      ];
      return results;
    } finally {
      await log.close();
    }
  },
};

export default workload;
