import { runFunnel, runPaths, runRetention, runTrends, runWebStats } from '@tracklane/analytics';
import type { Store } from '@tracklane/storage';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** POST /api/{trends,funnels,retention,paths,web-stats}: JSON request (see each schema in
 * @tracklane/analytics) -> JSON result. Validation errors are 400 with the offending fields. */
export function registerAnalyticsRoutes(
  app: FastifyInstance,
  store: Store,
  checkApiKey: (request: FastifyRequest) => void,
): void {
  const queries = {
    trends: runTrends,
    funnels: runFunnel,
    retention: runRetention,
    paths: runPaths,
    'web-stats': runWebStats,
  } as const;
  for (const [path, run] of Object.entries(queries)) {
    app.post(`/api/${path}`, async (request) => {
      checkApiKey(request);
      return run(store, request.body ?? {});
    });
  }
}
