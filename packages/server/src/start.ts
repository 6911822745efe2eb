import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type Collector,
  collectorPlugin,
  DEAD_LETTER_TOPIC,
  EVENTS_TOPIC,
  MAX_BATCH_BYTES,
  openCollector,
  SourceRegistry,
} from '@tracklane/collector';
import { EmbeddedLog, type Log } from '@tracklane/log';
import { DuckDbStore, type Store } from '@tracklane/storage';
import { BUILTIN_GROUP, type RunningPipelines, startBuiltinPipelines } from '@tracklane/stream';
import { pino } from 'pino';
import type { TracklaneConfig } from './config.ts';
import { scheduleDailyExport } from './daily-export.ts';
import { DEAD_LETTER_GROUP, type DeadLetterWriter, startDeadLetterWriter } from './dead-letter-writer.ts';
import { EndToEndLatency } from './end-to-end-latency.ts';
import { applyRecordedErasures } from './erasure.ts';
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
import { scheduleRetention } from './retention-schedule.ts';
import { STORAGE_GROUP, type StorageWriter, startStorageWriter } from './storage-writer.ts';

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

  const log: Log = await EmbeddedLog.open(join(dataDir, 'log'));
  let store: Store | undefined;
  let writer: StorageWriter | undefined;
  let collector: Collector | undefined;
  let deadLetterWriter: DeadLetterWriter | undefined;
  let pipelines: RunningPipelines | undefined;
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
    store = await DuckDbStore.open(databasePath);
    // Tombstones first, so that events of erased people still in the log are skipped, even by a new store.
    live.forget(await applyRecordedErasures(log, store));
    writer = await startStorageWriter(log, store, logger, (events) => {
      latency.record(events);
      live.publish(events);
    });
    deadLetterWriter = await startDeadLetterWriter(log, store, logger);
    if (config.pipelines !== false) {
      pipelines = await startBuiltinPipelines({
        log,
        store,
        dataDir,
        logger: logger.child({ component: 'stream' }),
      });
    }
  } catch (err) {
    await pipelines?.stop();
    await deadLetterWriter?.stop();
    await writer?.stop();
    await collector?.close();
    await store?.close();
    await log.close();
    throw err;
  }
  const activeStore = store;
  const activeWriter = writer;
  const activeCollector = collector;
  const activeDeadLetterWriter = deadLetterWriter;
  const activePipelines = pipelines;

  let state: 'ready' | 'stopping' = 'ready';
  const app = buildApp(logger, MAX_BATCH_BYTES);
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
      groups: [
        { group: STORAGE_GROUP, topic: EVENTS_TOPIC },
        { group: DEAD_LETTER_GROUP, topic: DEAD_LETTER_TOPIC },
        ...(activePipelines === undefined ? [] : [{ group: BUILTIN_GROUP, topic: EVENTS_TOPIC }]),
      ],
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
    await activePipelines?.stop();
    await activeDeadLetterWriter.stop();
    await activeCollector.close();
    await activeWriter.stop();
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
        await activePipelines?.stop();
        await activeDeadLetterWriter.stop();
        await activeWriter.stop();
        await log.close();
        await activeStore.close();
        logger.flush();
      })();
      return closing;
    },
  };
}
