import { join } from 'node:path';
import {
  type CollectorOptions,
  collectorPlugin,
  EVENTS_TOPIC,
  MAX_BATCH_BYTES,
  openCollector,
  SourceRegistry,
  type SourceWithKey,
} from '@tracklane/collector';
import type { Log } from '@tracklane/log';
import type { Logger } from 'pino';
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
  return serveCollector({
    log,
    logger,
    dataDir,
    sources: keys.sources,
    options: (config.collector.options ?? {}) as Partial<CollectorOptions>,
    eventPartitions: config.eventPartitions,
    host: config.host,
    port: config.collector.port ?? 8080,
  });
}

export interface ServeCollectorParams {
  /** Taken over: closed when the collector closes, or when it fails to start. */
  log: Log;
  logger: Logger;
  /** The collector's own state (its dedup index) goes under `<dataDir>/collector`. */
  dataDir: string;
  sources: SourceWithKey[];
  options: Partial<CollectorOptions>;
  eventPartitions: number;
  host: string;
  port: number;
}

/**
 * The collector as an HTTP server on a given log: what `tracklane collector` runs, and what the collector
 * benchmark runs on the embedded log to measure ingestion without processors sharing the process.
 */
export async function serveCollector(params: ServeCollectorParams): Promise<RunningRole> {
  const { log, logger } = params;
  let state: 'ready' | 'stopping' = 'ready';
  const app = buildApp(logger, MAX_BATCH_BYTES, params.options);
  let collector: Awaited<ReturnType<typeof openCollector>> | undefined;
  let url: string;
  try {
    await log.ensureTopic(EVENTS_TOPIC, { partitions: params.eventPartitions });
    collector = await openCollector({
      log,
      sources: new SourceRegistry(params.sources),
      stateDir: join(params.dataDir, 'collector'),
      options: params.options,
    });
    app.get('/health', async (_request, reply) => {
      const ok = state === 'ready';
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : state, role: 'collector' });
    });
    await app.register(collectorPlugin, collector.context);
    url = await listen(app, params.host, params.port);
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
