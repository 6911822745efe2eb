import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { errorHandler } from './error-handler.ts';

/** The HTTP app with Tracklane's error vocabulary; routes are added by the composition root. */
export function buildApp(logger: Logger, bodyLimit: number): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger,
    // Per-request access logs would dominate the collector's cost; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    requestTimeout: 30_000,
    // Ids of requests in error logs, never their bodies or headers (write keys travel there).
    genReqId: () => Math.random().toString(36).slice(2, 10),
    // No pino child per request (bindings serialised on every request, for logs that almost never
    // happen): request.log is the app logger, and the error logs name the request id themselves.
    childLoggerFactory: (parent) => parent,
  }) as unknown as FastifyInstance;
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send({ error: { code: 'E_NOT_FOUND', message: `no route for ${request.method} ${request.url}` } });
  });
  return app;
}
