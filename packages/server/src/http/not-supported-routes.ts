import { TracklaneError } from '@tracklane/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface NotSupportedRoute {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /** Why this deployment cannot answer, and what to do instead. */
  reason: string;
}

/**
 * Routes this deployment cannot answer correctly get a 501 `E_NOT_SUPPORTED` (after the API key check, so
 * the answer reveals nothing to strangers) rather than a 404 or, worse, a wrong result.
 */
export function registerNotSupportedRoutes(
  app: FastifyInstance,
  routes: readonly NotSupportedRoute[],
  checkApiKey: (request: FastifyRequest) => void,
): void {
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.path,
      handler: async (request) => {
        checkApiKey(request);
        throw new TracklaneError('E_NOT_SUPPORTED', `${route.method} ${route.path}: ${route.reason}`);
      },
    });
  }
}
