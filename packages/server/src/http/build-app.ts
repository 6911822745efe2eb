import { DEFAULT_COLLECTOR_OPTIONS } from '@tracklane/collector';
import { TracklaneError } from '@tracklane/core';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { errorHandler } from './error-handler.ts';

/** HTTP-server settings that come from the collector's options (they decide what request.ip is). */
export interface HttpServerOptions {
  trustProxy?: boolean | string[] | undefined;
  requestTimeoutMs?: number | undefined;
}

/** The HTTP app with Tracklane's error vocabulary; routes are added by the composition root. */
export function buildApp(logger: Logger, bodyLimit: number, http: HttpServerOptions = {}): FastifyInstance {
  const requestTimeout = http.requestTimeoutMs ?? DEFAULT_COLLECTOR_OPTIONS.requestTimeoutMs;
  const trustProxy = http.trustProxy ?? DEFAULT_COLLECTOR_OPTIONS.trustProxy;
  try {
    return configure(createFastify(logger, bodyLimit, requestTimeout, trustProxy));
  } catch (err) {
    if (!Array.isArray(trustProxy)) throw err;
    throw new TracklaneError(
      'E_CONFIG',
      `invalid trustProxy ${JSON.stringify(trustProxy)} (${(err as Error).message}): list proxy addresses or ` +
        'CIDRs, or loopback, linklocal, uniquelocal',
      { cause: err },
    );
  }
}

function createFastify(
  logger: Logger,
  bodyLimit: number,
  requestTimeout: number,
  trustProxy: boolean | string[],
): FastifyInstance {
  return Fastify({
    loggerInstance: logger,
    // Per-request access logs would dominate the collector's cost; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    requestTimeout,
    // Node checks request timeouts on this interval (30 s by default), so a short timeout needs a shorter
    // one; and it only enforces a request timeout no shorter than the headers timeout (60 s by default).
    http: {
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(requestTimeout / 2))),
      headersTimeout: Math.min(60_000, requestTimeout),
    },
    trustProxy,
    // Ids of requests in error logs, never their bodies or headers (write keys travel there).
    genReqId: () => Math.random().toString(36).slice(2, 10),
    // No pino child per request (bindings serialised on every request, for logs that almost never
    // happen): request.log is the app logger, and the error logs name the request id themselves.
    childLoggerFactory: (parent) => parent,
  }) as unknown as FastifyInstance;
}

function configure(app: FastifyInstance): FastifyInstance {
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send({ error: { code: 'E_NOT_FOUND', message: `no route for ${request.method} ${request.url}` } });
  });
  return app;
}
