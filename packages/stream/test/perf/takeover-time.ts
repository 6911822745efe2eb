/**
 * How long the built-in pipelines' tables lag when the processor running them stops and another takes
 * over, cold vs warm standby. Two "processors" in this process (separate data dirs, one embedded log, one
 * DuckDB store), N events already processed, then the leader stops: the figure is the time until the new
 * leader owns every partition with no lag. Run: node --import tsx packages/stream/test/perf/takeover-time.ts [N]
 */
import { EmbeddedLog } from '@tracklane/log';
import { DuckDbStore } from '@tracklane/storage';
import { makeTempDir, waitFor } from '@tracklane/test-utils';
import { type RunningPipelines, startBuiltinPipelines } from '../../src/index.ts';
import { generateEvents, toRecord } from '../fixture.ts';

const total = Number(process.argv[2] ?? 100_000);

async function measure(standby: 'cold' | 'warm'): Promise<number> {
  await using dir = await makeTempDir();
  const log = await EmbeddedLog.open(`${dir.path}/log`, { retentionCheckIntervalMs: 0 });
  const store = await DuckDbStore.open(`${dir.path}/tracklane.duckdb`);
  await store.migrate();
  await log.ensureTopic('events', { partitions: 4 });
  const start = (name: string) =>
    startBuiltinPipelines({
      log,
      store,
      dataDir: `${dir.path}/${name}`,
      partitions: 4,
      singleActive: true,
      standby,
    });
  const processes: RunningPipelines[] = [await start('p1'), await start('p2')];
  const events = generateEvents(total, 2_000, 5);
  for (let i = 0; i < events.length; i += 2_000)
    await log.append('events', events.slice(i, i + 2_000).map(toRecord));
  const caughtUp = async (r: RunningPipelines | undefined) => r !== undefined && (await r.lag()) === 0;
  await waitFor(
    async () => {
      const leader = processes.find((p) => p.stats().partitions.length === 4);
      return (
        (await caughtUp(leader)) &&
        (standby === 'cold' || (await caughtUp(processes.find((p) => p !== leader)?.standby)))
      );
    },
    { timeoutMs: 600_000, intervalMs: 100, what: 'leader (and mirror) to catch up' },
  );
  const leader = processes.find((p) => p.stats().partitions.length === 4)!;
  const other = processes.find((p) => p !== leader)!;
  const stoppedAt = performance.now();
  await leader.stop();
  await waitFor(async () => other.stats().partitions.length === 4 && (await other.lag()) === 0, {
    timeoutMs: 600_000,
    intervalMs: 50,
    what: 'the other to take over and catch up',
  });
  const ms = performance.now() - stoppedAt;
  await other.stop();
  await store.close();
  await log.close();
  return ms;
}

for (const standby of ['cold', 'warm'] as const) {
  const ms = await measure(standby);
  process.stdout.write(
    `${standby} standby, ${total} events in the log: tables current again ${(ms / 1000).toFixed(2)} s after the leader stopped\n`,
  );
}
