// A processor that the crash test kills with SIGKILL at random points: runs the built-in pipelines over
// <dir>/log into <dir>/tracklane.duckdb, says "ready" once started and "drained" whenever it has caught up.
// A second argument runs the pipelines in that many worker threads.
import { EmbeddedLog } from '@tracklane/log';
import { DuckDbStore } from '@tracklane/storage';
import { startBuiltinPipelines } from '../src/index.ts';

const dir = process.argv[2]!;
const workers = Number(process.argv[3] ?? 0);
const log = await EmbeddedLog.open(`${dir}/log`, { retentionCheckIntervalMs: 0 });
const store = await DuckDbStore.open(`${dir}/tracklane.duckdb`);
await store.migrate();
const running = await startBuiltinPipelines({
  log,
  store,
  dataDir: dir,
  exact: true,
  partitions: 3,
  checkpointIntervalMs: 20,
  workers,
});
process.stdout.write('ready\n');
const timer = setInterval(async () => {
  if ((await running.lag()) === 0) process.stdout.write('drained\n');
}, 20);
process.on('SIGTERM', async () => {
  clearInterval(timer);
  await running.stop();
  await store.close();
  await log.close();
  process.exit(0);
});
