import { workerData } from 'node:worker_threads';
import { TracklaneError } from '@tracklane/core';
import { StreamEngine } from '../runtime/engine.ts';
import type { Logger } from '../runtime/logger.ts';
import { LogProxy } from './log-proxy.ts';
import type {
  PipelineFactory,
  WorkerCheckpointEvent,
  WorkerInit,
  WorkerLogEvent,
  WorkerReadyEvent,
} from './protocol.ts';
import { RpcPeer } from './rpc.ts';
import { StoreProxy } from './store-proxy.ts';

/**
 * A stream worker thread: builds the pipelines from the pool's module, then runs an ordinary engine on
 * the proxied log. Its consumer joins the pool's group like any other member, and its state goes to the
 * group's SQLite file, which every worker opens (WAL; one writer at a time, so checkpoints of different
 * workers serialise and stay atomic with their offsets).
 */
const init = workerData as WorkerInit;
const log = new LogProxy(init.logPort);
const store = init.storePort === undefined ? undefined : new StoreProxy(init.storePort);
let engine: StreamEngine | undefined;

const control = new RpcPeer(init.controlPort, {
  stats: () => engine?.stats(),
  stop: async () => {
    await engine?.stop();
    await log.close();
    store?.close();
  },
});

function forward(level: WorkerLogEvent['level']) {
  return (obj: object, msg?: string) => {
    const err = (obj as { err?: unknown }).err;
    // Errors do not survive structured cloning with their fields: send what a log line needs.
    const safe =
      err instanceof Error
        ? { ...obj, err: { message: err.message, stack: err.stack, code: (err as { code?: unknown }).code } }
        : obj;
    control.notify('log', { level, obj: { ...safe, worker: init.index }, msg } satisfies WorkerLogEvent);
  };
}
const logger: Logger = { info: forward('info'), warn: forward('warn'), error: forward('error') };

const mod = (await import(init.module)) as Record<string, unknown>;
const factory = mod[init.exportName];
if (typeof factory !== 'function') {
  throw new TracklaneError(
    'E_BAD_ARGUMENT',
    `${init.module} has no function export '${init.exportName}'; export a PipelineFactory under that name`,
  );
}
const pipelines = await (factory as PipelineFactory)({ log, store, data: init.data, worker: init.index });
const running = new StreamEngine({
  ...init.engine,
  log,
  pipelines,
  logger,
  // Stats travel with every checkpoint, so the pool can answer `stats()` without a round trip.
  onCheckpoint: (info) =>
    control.notify('checkpoint', {
      info: init.checkpoints ? info : undefined,
      stats: running.stats(),
    } satisfies WorkerCheckpointEvent),
});
engine = running;
await running.start();
// And every second, so that partitions moved by a rebalance show without waiting for new records.
setInterval(() => control.notify('stats', running.stats()), 1000).unref();
control.notify('ready', {
  topic: pipelines[0]!.source.topic,
  stats: running.stats(),
} satisfies WorkerReadyEvent);
