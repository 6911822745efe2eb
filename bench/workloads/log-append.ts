import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { EmbeddedLog, type RecordInput } from '@tracklane/log';
import type { BenchContext, BenchResult, Workload } from '../result.ts';

const RECORD_BYTES = 300;
const BATCH = 100;
const APPENDERS = 4;
const BASELINE_RECORDS_PER_SYNC = 1000;
/*
 * The figures are measured in interleaved rounds (baseline, log 1 partition, log 4 partitions, repeat) and
 * summed, so a neighbour loading the disk or CPU for a few seconds hurts all of them alike instead of
 * skewing the ratio.
 */
const ROUNDS = 5;

interface Tally {
  records: number;
  ms: number;
  latencies: number[];
}

const tally = (): Tally => ({ records: 0, ms: 0, latencies: [] });

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

/** The raw disk: `chunk` (records of 300 bytes) per write, one fdatasync each, appended to one file. */
async function rawRound(fh: FileHandle, chunk: Buffer, records: number, into: Tally): Promise<void> {
  const perSync = chunk.length / RECORD_BYTES;
  const started = performance.now();
  for (let done = 0; done < records; done += perSync) {
    const t = performance.now();
    await fh.write(chunk, 0, chunk.length, null);
    await fh.datasync();
    into.latencies.push(performance.now() - t);
  }
  into.ms += performance.now() - started;
  into.records += records;
}

/** APPENDERS concurrent appenders, each awaiting its durable ack before appending its next batch. */
async function logRound(log: EmbeddedLog, batch: RecordInput[], records: number, into: Tally): Promise<void> {
  const batches = Math.ceil(records / BATCH);
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: APPENDERS }, async () => {
      while (issued < batches) {
        issued++;
        const t = performance.now();
        await log.append('bench', batch);
        into.latencies.push(performance.now() - t);
      }
    }),
  );
  into.ms += performance.now() - started;
  into.records += batches * BATCH;
}

async function openLog(ctx: BenchContext, partitions: number): Promise<EmbeddedLog> {
  const dir = join(ctx.tmpDir, `log-${partitions}p`);
  await mkdir(dir, { recursive: true });
  const log = await EmbeddedLog.open(dir, { retentionCheckIntervalMs: 0 });
  await log.ensureTopic('bench', { partitions });
  return log;
}

const perSecond = (t: Tally) => (t.records / t.ms) * 1000;
const ms3 = (n: number) => Math.round(n * 1000) / 1000;

const workload: Workload = {
  name: 'log-append',
  description: `embedded log durable append (${RECORD_BYTES} B records, batches of ${BATCH}, ${APPENDERS} appenders) vs raw write + fdatasync`,
  async run(ctx) {
    const total = ctx.quick ? 100_000 : 1_000_000;
    const perRound = total / ROUNDS;
    const raw = tally();
    // The most any durable log can do with APPENDERS closed-loop appenders of BATCH records: every fsync
    // carries at most APPENDERS * BATCH records. Shows how much of the gap is fsync count, not log overhead.
    const rawCycle = tally();
    const one = tally();
    const four = tally();
    const baselineFile = await open(join(ctx.tmpDir, 'baseline.dat'), 'w');
    const cycleFile = await open(join(ctx.tmpDir, 'cycle.dat'), 'w');
    const chunk = randomBytes(BASELINE_RECORDS_PER_SYNC * RECORD_BYTES);
    const cycleChunk = randomBytes(APPENDERS * BATCH * RECORD_BYTES);
    const log1 = await openLog(ctx, 1);
    const log4 = await openLog(ctx, 4);
    // Distinct values per record; one array reused across appends, since the log copies into its own batch.
    const batch = Array.from({ length: BATCH }, () => ({ value: randomBytes(RECORD_BYTES) }));
    try {
      for (let round = 0; round < ROUNDS; round++) {
        ctx.progress('raw write + fdatasync', round * 3, ROUNDS * 3);
        await rawRound(baselineFile, chunk, perRound, raw);
        await rawRound(cycleFile, cycleChunk, perRound, rawCycle);
        ctx.progress('log append, 1 partition', round * 3 + 1, ROUNDS * 3);
        await logRound(log1, batch, perRound, one);
        ctx.progress('log append, 4 partitions', round * 3 + 2, ROUNDS * 3);
        await logRound(log4, batch, perRound, four);
      }
      ctx.progress('done', ROUNDS * 3, ROUNDS * 3);
      for (const [log, t] of [
        [log1, one],
        [log4, four],
      ] as const) {
        const stored = (await log.offsets('bench')).reduce((sum, o) => sum + o.end, 0);
        if (stored !== t.records)
          throw new Error(`expected ${t.records} records in the log, found ${stored}`);
      }
    } finally {
      await baselineFile.close();
      await cycleFile.close();
      await log1.close();
      await log4.close();
    }
    for (const t of [raw, one, four]) t.latencies.sort((a, b) => a - b);
    const baseline = {
      name: `fs.write + fdatasync per ${BASELINE_RECORDS_PER_SYNC} records (300 KB), one file`,
      value: Math.round(perSecond(raw)),
    };
    const result = (partitions: number, t: Tally): BenchResult => ({
      workload: 'log-append',
      name: `log append (${partitions} partition${partitions === 1 ? '' : 's'}, ${APPENDERS} appenders, batches of ${BATCH}, durable)`,
      value: Math.round(perSecond(t)),
      unit: 'events/s',
      baseline,
      ratio: Math.round((perSecond(t) / perSecond(raw)) * 1000) / 1000,
      goal: 0.5,
      extra: {
        records: t.records,
        [`rawPer${APPENDERS * BATCH}RecordSyncEventsPerSec`]: Math.round(perSecond(rawCycle)),
        [`ratioToRawPer${APPENDERS * BATCH}RecordSync`]:
          Math.round((perSecond(t) / perSecond(rawCycle)) * 1000) / 1000,
        rounds: ROUNDS,
        appendP50Ms: ms3(percentile(t.latencies, 50)),
        appendP99Ms: ms3(percentile(t.latencies, 99)),
        baselineSyncP50Ms: ms3(percentile(raw.latencies, 50)),
        baselineSyncP99Ms: ms3(percentile(raw.latencies, 99)),
      },
    });
    return [result(1, one), result(4, four)];
  },
};

export default workload;
