import type { Store } from '@tracklane/storage';
import type { DeploymentConfig } from './deployment-config.ts';
import { registerAnalyticsRoutes } from './http/analytics-routes.ts';
import { makeApiKeyCheck } from './http/api-auth.ts';
import { buildApp } from './http/build-app.ts';
import { registerDashboardRoute } from './http/dashboard-route.ts';
import { registerExportRoute } from './http/export-route.ts';
import { type NotSupportedRoute, registerNotSupportedRoutes } from './http/not-supported-routes.ts';
import { registerSqlRoute } from './http/sql-route.ts';
import { registerUsersRoute } from './http/users-route.ts';
import { LiveEvents } from './live-events.ts';
import { openLog } from './open-log.ts';
import { openStore } from './open-store.ts';
import { listen, openRoleContext, type RunningRole } from './role-context.ts';

const API_BODY_LIMIT = 1 << 20;

/** In-process state of `tracklane start` that a separate API process does not have. */
const SPLIT_ONLY: readonly NotSupportedRoute[] = [
  {
    method: 'GET',
    path: '/api/live',
    reason: 'the live tail is fed in-process by the storage writer; it exists only in `tracklane start`',
  },
  {
    method: 'GET',
    path: '/api/pipeline',
    reason:
      'pipeline health reads in-process collector and writer counters; use each collector /metrics and processor /health',
  },
  ...(['GET', 'POST'] as const).map((method) => ({
    method,
    path: '/api/sources',
    reason: 'sources are keys.writeKeys in the config file, shared by every collector; edit it and restart',
  })),
  {
    method: 'DELETE',
    path: '/api/sources/:id',
    reason: 'sources are keys.writeKeys in the config file, shared by every collector; edit it and restart',
  },
];

/**
 * `tracklane api`: the HTTP API and the dashboard over the store. It opens the log only to record
 * erasures (so processors re-applying the log skip erased people). Stateless: run as many as needed.
 */
export async function startApiRole(config: DeploymentConfig): Promise<RunningRole> {
  const { logger, dataDir, keys } = await openRoleContext(config, 'api');
  const log = await openLog(config.log, dataDir, `tracklane-api-${process.pid}`);
  let store: Store | undefined;
  const app = buildApp(logger, API_BODY_LIMIT);
  let url: string;
  let state: 'ready' | 'stopping' = 'ready';
  try {
    store = await openStore(config.store, dataDir);
    app.get('/health', async (_request, reply) => {
      const ok = state === 'ready';
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : state, role: 'api' });
    });
    const checkApiKey = makeApiKeyCheck(keys.apiKeys);
    registerSqlRoute(app, store, checkApiKey);
    // The query builder compiles for the store's own SQL dialect (DuckDB, PostgreSQL or ClickHouse).
    registerAnalyticsRoutes(app, store, checkApiKey);
    // Erasing here drops nothing from a live view: there is none in this process.
    registerUsersRoute(app, log, store, new LiveEvents(), checkApiKey);
    registerExportRoute(app, store, checkApiKey);
    registerNotSupportedRoutes(app, SPLIT_ONLY, checkApiKey);
    await registerDashboardRoute(app);
    url = await listen(app, config.host, config.api.port ?? 8080);
  } catch (err) {
    await app.close();
    await store?.close();
    await log.close();
    throw err;
  }
  const activeStore = store;
  let closing: Promise<void> | undefined;
  return {
    role: 'api',
    url,
    close() {
      closing ??= (async () => {
        state = 'stopping';
        await app.close();
        await log.close();
        await activeStore.close();
        logger.flush();
      })();
      return closing;
    },
  };
}
