import { DEAD_LETTER_TOPIC, EVENTS_TOPIC } from '@tracklane/collector';
import type { Store } from '@tracklane/storage';
import type { FastifyInstance } from 'fastify';
import type { DeploymentConfig } from './deployment-config.ts';
import { buildApp } from './http/build-app.ts';
import { openLog } from './open-log.ts';
import { openStore } from './open-store.ts';
import { type Processing, startProcessing } from './processing.ts';
import { listen, openRoleContext, type RunningRole } from './role-context.ts';

/**
 * `tracklane processor`: the storage writer, the dead-letter writer and the built-in pipelines. Each is a
 * consumer group, so when a processor dies its partitions move to the others after the log's session
 * timeout; writes are idempotent on message id, so what it had read but not committed is stored once.
 * The built-in pipelines keep state in each processor's data dir, so they run in one processor at a time
 * and another takes over when it dies (see `startSingleActive`).
 */
export async function startProcessorRole(config: DeploymentConfig): Promise<RunningRole> {
  const { logger, dataDir } = await openRoleContext(config, 'processor');
  const log = await openLog(config.log, dataDir, `tracklane-processor-${process.pid}`);
  let store: Store | undefined;
  let processing: Processing | undefined;
  let app: FastifyInstance | undefined;
  let url: string | undefined;
  let state: 'ready' | 'stopping' = 'ready';
  try {
    // A processor may start before any collector; the topics it reads are the ones collectors create.
    await log.ensureTopic(EVENTS_TOPIC, { partitions: config.eventPartitions });
    await log.ensureTopic(DEAD_LETTER_TOPIC, { partitions: 1 });
    store = await openStore(config.store, dataDir);
    processing = await startProcessing({
      log,
      store,
      logger,
      dataDir,
      pipelines: config.processor.pipelines,
      streamWorkers: config.processor.streamWorkers,
      shared: true,
      standby: config.processor.standby,
    });
    if (config.processor.port !== undefined) {
      const writer = processing.writer;
      app = buildApp(logger, 1024);
      app.get('/health', async (_request, reply) => {
        const ok = state === 'ready';
        return reply
          .code(ok ? 200 : 503)
          .send({ status: ok ? 'ok' : state, role: 'processor', eventsStored: writer.written });
      });
      url = await listen(app, config.host, config.processor.port);
    }
  } catch (err) {
    await app?.close();
    await processing?.stop();
    await store?.close();
    await log.close();
    throw err;
  }
  const activeStore = store;
  const activeProcessing = processing;
  let closing: Promise<void> | undefined;
  return {
    role: 'processor',
    url,
    close() {
      closing ??= (async () => {
        state = 'stopping';
        await app?.close();
        await activeProcessing.stop();
        await log.close();
        await activeStore.close();
        logger.flush();
      })();
      return closing;
    },
  };
}
