import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type Collector,
  collectorPlugin,
  EVENTS_TOPIC,
  MAX_BATCH_BYTES,
  openCollector,
  SourceRegistry,
} from '@tracklane/collector';
import type { Log } from '@tracklane/log';
import type { Store } from '@tracklane/storage';
import { pino } from 'pino';
import type { TracklaneConfig } from './config.ts';
import { scheduleDailyExport } from './daily-export.ts';
import { EndToEndLatency } from './end-to-end-latency.ts';
import { registerAnalyticsRoutes } from './http/analytics-routes.ts';
import { makeApiKeyCheck } from './http/api-auth.ts';
import { buildApp } from './http/build-app.ts';
import { registerDashboardRoute } from './http/dashboard-route.ts';
import { registerDemoRoute } from './http/demo-route.ts';
import { registerExportRoute } from './http/export-route.ts';
import { registerLiveTailRoute } from './http/live-tail-route.ts';
import { registerPipelineHealthRoute } from './http/pipeline-health-route.ts';
import { registerSourcesRoutes } from './http/sources-routes.ts';
import { registerSqlRoute } from './http/sql-route.ts';
import { registerUsersRoute } from './http/users-route.ts';
import { type ResolvedKeys, resolveKeys } from './keys.ts';
import { LiveEvents } from './live-events.ts';
import { openLog } from './open-log.ts';
import { openStore } from './open-store.ts';
import { type Processing, startProcessing } from './processing.ts';
import { scheduleRetention } from './retention-schedule.ts';

export interface RunningTracklane {
  url: string;
  keys: ResolvedKeys;
  dataDir: string;
  /** Stops accepting requests, drains in-flight work, flushes and closes the log and the store. */
  close(): Promise<void>;
}

/** The composition root of `tracklane start`: the whole pipeline in one process. */
export async function startTracklane(config: TracklaneConfig): Promise<RunningTracklane> {
  const logger = pino({
    level: config.logLevel,
    redact: ['req.headers.authorization', 'req.headers.cookie', '*.writeKey', '*.apiKey'],
  });
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const keys = await resolveKeys(dataDir, { writeKeys: config.writeKeys, apiKey: config.apiKey });

  const log: Log = await openLog({ kind: 'embedded' }, dataDir);
  let store: Store | undefined;
  let collector: Collector | undefined;
  let processing: Processing | undefined;
  const live = new LiveEvents();
  const latency = new EndToEndLatency();
  const sources = new SourceRegistry(keys.sources);
  const databasePath = join(dataDir, 'tracklane.duckdb');
  try {
    await log.ensureTopic(EVENTS_TOPIC, { partitions: config.eventPartitions });
    collector = await openCollector({
      log,
      sources,
      stateDir: join(dataDir, 'collector'),
      options: config.collector,
    });
    store = await openStore({ kind: 'duckdb', path: databasePath }, dataDir);
    processing = await startProcessing({
      log,
      store,
      logger,
      dataDir,
      pipelines: config.pipelines !== false,
      streamWorkers: config.streamWorkers,
      onErased: (ids) => live.forget(ids),
      onStored: (events) => {
        latency.record(events);
        live.publish(events);
      },
    });
  } catch (err) {
    await collector?.close();
    await store?.close();
    await log.close();
    throw err;
  }
  const activeStore = store;
  const activeProcessing = processing;
  const activeWriter = processing.writer;
  const activeCollector = collector;

  let state: 'ready' | 'stopping' = 'ready';
  const app = buildApp(logger, MAX_BATCH_BYTES, config.collector);
  app.get('/health', async (_request, reply) => {
    const ok = state === 'ready';
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : state, eventsStored: activeWriter.written });
  });
  await app.register(collectorPlugin, activeCollector.context);
  const checkApiKey = makeApiKeyCheck(keys.apiKeys);
  registerSqlRoute(app, activeStore, checkApiKey);
  registerAnalyticsRoutes(app, activeStore, checkApiKey);
  registerUsersRoute(app, log, activeStore, live, checkApiKey);
  registerExportRoute(app, activeStore, checkApiKey);
  registerLiveTailRoute(app, live, checkApiKey);
  registerSourcesRoutes(
    app,
    { dataDir, sources: keys.sources, registry: sources, store: activeStore },
    checkApiKey,
  );
  registerPipelineHealthRoute(
    app,
    {
      log,
      collector: activeCollector.context,
      // The consumer groups `start` runs, whose lag the dashboard shows.
      groups: activeProcessing.groups,
      latency,
      databasePath,
      eventsStored: () => activeWriter.written,
    },
    checkApiKey,
  );
  await registerDashboardRoute(app);
  if (config.demo === true) await registerDemoRoute(app, keys.sources[0]!.writeKey);
  const stopRetention =
    config.retentionMs === undefined ? undefined : scheduleRetention(activeStore, config.retentionMs, logger);
  const stopDailyExport =
    config.exportDir === undefined
      ? undefined
      : scheduleDailyExport(activeStore, resolve(config.exportDir), logger);

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await activeCollector.close();
    await activeProcessing.stop();
    await activeStore.close();
    await log.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    keys,
    dataDir,
    close() {
      closing ??= (async () => {
        state = 'stopping';
        stopRetention?.();
        stopDailyExport?.();
        // Order matters: no new events, then every in-flight append acknowledged, then storage caught up
        // with what it had in hand, then the log and the store flushed and closed.
        await app.close();
        await activeCollector.close();
        await activeProcessing.stop();
        await log.close();
        await activeStore.close();
        logger.flush();
      })();
      return closing;
    },
  };
}
