import { join } from 'node:path';
import {
  type CollectorOptions,
  collectorPlugin,
  EVENTS_TOPIC,
  MAX_BATCH_BYTES,
  openCollector,
  SourceRegistry,
} from '@tracklane/collector';
import type { DeploymentConfig } from './deployment-config.ts';
import { buildApp } from './http/build-app.ts';
import { openLog } from './open-log.ts';
import { listen, openRoleContext, type RunningRole } from './role-context.ts';

/**
 * `tracklane collector`: ingestion only. Stateless apart from its dedup window (the log also dedups on
 * message id), so any number run side by side behind a load balancer.
 */
export async function startCollectorRole(config: DeploymentConfig): Promise<RunningRole> {
  const { logger, dataDir, keys } = await openRoleContext(config, 'collector');
  const log = await openLog(config.log, dataDir, `tracklane-collector-${process.pid}`);
  let state: 'ready' | 'stopping' = 'ready';
  const app = buildApp(logger, MAX_BATCH_BYTES);
  let collector: Awaited<ReturnType<typeof openCollector>> | undefined;
  let url: string;
  try {
    await log.ensureTopic(EVENTS_TOPIC, { partitions: config.eventPartitions });
    collector = await openCollector({
      log,
      sources: new SourceRegistry(keys.sources),
      stateDir: join(dataDir, 'collector'),
      options: (config.collector.options ?? {}) as Partial<CollectorOptions>,
    });
    app.get('/health', async (_request, reply) => {
      const ok = state === 'ready';
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : state, role: 'collector' });
    });
    await app.register(collectorPlugin, collector.context);
    url = await listen(app, config.host, config.collector.port ?? 8080);
  } catch (err) {
    await app.close();
    await collector?.close();
    await log.close();
    throw err;
  }
  const active = collector;
  let closing: Promise<void> | undefined;
  return {
    role: 'collector',
    url,
    close() {
      // No new requests, then every in-flight append acknowledged, then the log closed.
      closing ??= (async () => {
        state = 'stopping';
        await app.close();
        await active.close();
        await log.close();
        logger.flush();
      })();
      return closing;
    },
  };
}
