import { join } from 'node:path';
import { EmbeddedLog, type LogRecord, type RecordInput } from '@tracklane/log';
import { count, decodeJson, from, startEngine, tumbling, type WindowResult } from '@tracklane/stream';
import type { BenchContext, BenchResult, Workload } from '../result.ts';

/*
 * Yahoo Streaming Benchmark shape: ad events as JSON; keep views, look the ad's campaign up in a table,
 * count views per campaign in 10-second event-time windows. YSB writes the counts to Redis; here they go to
 * an in-memory map (the sink is not what is measured). The baseline is a plain JS loop doing the same
 * read + JSON.parse + filter + lookup + windowed count over the same records, read from the same log.
 * Throughput is per CPU-second of this process (user + system), i.e. events/s per core.
 */

const PARTITIONS = 4;
const CAMPAIGNS = 100;
const ADS_PER_CAMPAIGN = 10;
const EVENTS_PER_WINDOW = 100_000;
const WINDOW_MS = 10_000;
const EVENT_TYPES = ['view', 'click', 'purchase'] as const;

export interface AdEvent {
  user_id: string;
  page_id: string;
  ad_id: string;
  ad_type: string;
  event_type: (typeof EVENT_TYPES)[number];
  event_time: number;
  ip_address: string;
}

export const campaignOf = new Map<string, string>();
for (let c = 0; c < CAMPAIGNS; c++) {
  for (let a = 0; a < ADS_PER_CAMPAIGN; a++) campaignOf.set(`ad-${c}-${a}`, `campaign-${c}`);
}
const ads = [...campaignOf.keys()];

/** The same JSON as JSON.stringify(AdEvent) would give, built by concatenation so producing is cheap. */
function adEvent(i: number, eventTime: number): RecordInput {
  const user = `user-${(i * 7919) % 100_000}`;
  const json =
    `{"user_id":"${user}","page_id":"page-${(i * 31) % 1000}","ad_id":"${ads[(i * 13) % ads.length]!}",` +
    `"ad_type":"banner","event_type":"${EVENT_TYPES[i % 3]!}","event_time":${eventTime},"ip_address":"1.2.3.4"}`;
  return { key: user, value: Buffer.from(json) };
}

export async function fill(log: EmbeddedLog, total: number, ctx: BenchContext): Promise<void> {
  await log.ensureTopic('ads', { partitions: PARTITIONS });
  const t0 = Date.UTC(2026, 0, 1);
  const batch = 5000;
  for (let i = 0; i < total; i += batch) {
    const records: RecordInput[] = [];
    for (let j = i; j < Math.min(total, i + batch); j++) {
      records.push(adEvent(j, t0 + Math.floor((j * WINDOW_MS) / EVENTS_PER_WINDOW)));
    }
    await log.append('ads', records);
    ctx.progress('filling the log', i + records.length, total);
  }
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

function pipeline(log: EmbeddedLog, results: Map<string, number>) {
  return from(log, 'ads', decodeJson<AdEvent>, { eventTime: (e) => e.event_time, outOfOrderness: '1s' })
    .filter((e) => e.event_type === 'view')
    .map((e) => campaignOf.get(e.ad_id) ?? 'unknown')
    .keyBy((campaign) => campaign)
    .window(tumbling('10s'))
    .aggregate(count())
    .to(
      {
        async write(items: WindowResult<string, number>[]) {
          for (const r of items) results.set(`${r.key}@${r.window.start}`, r.value);
        },
      },
      { name: 'ysb' },
    );
}

async function runEngine(log: EmbeddedLog, dir: string, group: string, total: number, ctx: BenchContext) {
  const results = new Map<string, number>();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const engine = await startEngine({
    log,
    pipelines: [pipeline(log, results)],
    group,
    stateDir: dir,
    maxPollRecords: 5000,
    checkpointIntervalMs: 200,
  });
  for (;;) {
    const lag = await engine.lag();
    ctx.progress('engine', total - lag, total);
    if (lag === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const wallS = (performance.now() - started) / 1000;
  const cpuS = cpuSeconds(cpu);
  await engine.stop();
  return { results, wallS, cpuS };
}

async function runBaseline(log: EmbeddedLog) {
  const results = new Map<string, number>();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let p = 0; p < PARTITIONS; p++) {
    let offset = 0;
    for (;;) {
      const records: LogRecord[] = await log.read('ads', p, offset, { maxRecords: 5000, maxBytes: 4 << 20 });
      if (records.length === 0) break;
      for (const record of records) {
        const e = JSON.parse(record.value.toString('utf8')) as AdEvent;
        if (e.event_type !== 'view') continue;
        const campaign = campaignOf.get(e.ad_id) ?? 'unknown';
        const key = `${campaign}@${e.event_time - (e.event_time % WINDOW_MS)}`;
        results.set(key, (results.get(key) ?? 0) + 1);
      }
      offset = records[records.length - 1]!.offset + 1;
    }
  }
  return { results, wallS: (performance.now() - started) / 1000, cpuS: cpuSeconds(cpu) };
}

/** Appends at `rate` events/s (event time = now) while the engine runs; freshness = commit - append time. */
async function freshness(log: EmbeddedLog, dir: string, rate: number, seconds: number, ctx: BenchContext) {
  await log.ensureTopic('ads', { partitions: PARTITIONS });
  const samples: number[] = [];
  const engine = await startEngine({
    log,
    pipelines: [pipeline(log, new Map())],
    group: 'fresh',
    stateDir: dir,
    maxPollRecords: 5000,
    checkpointIntervalMs: 100,
    sampleEvery: 50,
    onCheckpoint: (info) => {
      for (const t of info.appendTimes) samples.push(info.committedAt - t);
    },
  });
  const tickMs = 10;
  const started = Date.now();
  let sent = 0;
  while (Date.now() - started < seconds * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    const records: RecordInput[] = [];
    for (; sent < due; sent++) records.push(adEvent(sent, Date.now()));
    if (records.length > 0) await log.append('ads', records);
    ctx.progress('freshness', Date.now() - started, seconds * 1000);
    await new Promise((r) => setTimeout(r, tickMs));
  }
  for (let i = 0; i < 250 && (await engine.lag()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
  await engine.stop();
  samples.sort((a, b) => a - b);
  const pct = (p: number) =>
    samples[Math.min(samples.length - 1, Math.floor(samples.length * p))] ?? Number.NaN;
  return { p50: pct(0.5), p99: pct(0.99), achieved: sent / seconds, samples: samples.length };
}

const workload: Workload = {
  name: 'stream-windowed',
  description: 'YSB-style filter + lookup + 10 s windowed count per campaign: engine vs a plain loop',
  async run(ctx) {
    const total = ctx.quick ? 200_000 : 2_000_000;
    const log = await EmbeddedLog.open(join(ctx.tmpDir, 'log'), { retentionCheckIntervalMs: 0 });
    let freshLog: EmbeddedLog | undefined;
    try {
      await fill(log, total, ctx);
      // Warm both paths once (JIT), then measure.
      await runBaseline(log);
      const baseline = await runBaseline(log);
      const engine = await runEngine(log, join(ctx.tmpDir, 'state'), 'ysb', total, ctx);
      for (const [key, n] of baseline.results) {
        if (engine.results.get(key) !== n) throw new Error(`engine and baseline disagree on ${key}`);
      }
      const enginePerCore = total / engine.cpuS;
      const baselinePerCore = total / baseline.cpuS;
      await log.close();
      freshLog = await EmbeddedLog.open(join(ctx.tmpDir, 'log-fresh'), { retentionCheckIntervalMs: 0 });
      const fresh = await freshness(
        freshLog,
        join(ctx.tmpDir, 'state-fresh'),
        Math.round(total / engine.wallS / 2),
        ctx.quick ? 3 : 10,
        ctx,
      );
      const results: BenchResult[] = [
        {
          workload: 'stream-windowed',
          name: `YSB windowed count (${total.toLocaleString('en')} events, ${PARTITIONS} partitions, 1 engine)`,
          value: Math.round(enginePerCore),
          unit: 'events/s/core',
          baseline: { name: 'plain JS loop, same records', value: Math.round(baselinePerCore) },
          ratio: round(enginePerCore / baselinePerCore),
          extra: {
            goal: '>= 150k events/s/core',
            engineWallEventsPerS: Math.round(total / engine.wallS),
            engineCores: round(engine.cpuS / engine.wallS),
            baselineWallEventsPerS: Math.round(total / baseline.wallS),
            freshnessRate: `${Math.round(fresh.achieved)} events/s (half the max)`,
            freshnessP50Ms: Math.round(fresh.p50),
            freshnessP99Ms: Math.round(fresh.p99),
          },
        },
      ];
      return results;
    } finally {
      await log.close().catch(() => undefined);
      await freshLog?.close();
    }
  },
};

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

export default workload;
