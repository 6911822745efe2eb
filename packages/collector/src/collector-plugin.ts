import cors from '@fastify/cors';
import { TracklaneError } from '@tracklane/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { registerBodyParsing } from './body/register-body-parsing.ts';
import type { CollectorContext } from './collector-context.ts';
import { recordFailedRequest } from './failed-request.ts';
import { overloaded } from './ingest.ts';
import { POSTHOG_PATHS } from './protocols/posthog.ts';
import { SNOWPLOW_PIXEL_PATH, SNOWPLOW_POST_PATH } from './protocols/snowplow.ts';
import { registerPostHogRoutes } from './routes/posthog-routes.ts';
import { registerSegmentRoutes } from './routes/segment-routes.ts';
import { registerSnowplowRoutes } from './routes/snowplow-routes.ts';

/** Largest request body the collector reads (Segment's batch limit), after any decompression. */
export const MAX_BATCH_BYTES = 500 * 1024;

const COLLECTOR_PATHS = new Set<string>([...POSTHOG_PATHS, SNOWPLOW_POST_PATH, SNOWPLOW_PIXEL_PATH]);

/** Whether a URL is one of the collector's: only those get the permissive CORS that browser SDKs need. */
export function isCollectorPath(url: string): boolean {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  return path.startsWith('/v1/') || COLLECTOR_PATHS.has(path);
}

/**
 * Registers the collector's routes in their own encapsulated scope: body parsers, CORS and limits do not
 * leak into the analytics API. `/metrics` is registered outside that scope (no CORS, no limits).
 */
export async function collectorPlugin(app: FastifyInstance, ctx: CollectorContext): Promise<void> {
  app.get('/metrics', async (_request, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.header('content-type', ctx.metrics.registry.contentType).send(text);
  });
  await app.register(async (scope) => {
    const origins = ctx.options.corsOrigins;
    const anyOrigin = origins.includes('*');
    // @fastify/cors answers preflights from an `OPTIONS *` route, and routes are global in fastify's
    // router even when registered in a scope: without this delegator a preflight to /api/sql would get
    // the collector's permissive headers. Non-collector URLs get CORS disabled, hence a 404 preflight.
    // Write keys are public by design (they ship in web pages) and no cookies are involved, hence no
    // credentials. Both answers are built once, not per request.
    const collectorCors = {
      origin: anyOrigin ? '*' : origins,
      methods: ['POST', 'GET', 'OPTIONS'],
      allowedHeaders: ['content-type', 'authorization', 'content-encoding'],
      maxAge: 86_400,
    };
    const noCors = { origin: false };
    await scope.register(cors, {
      delegator: (request, callback) => {
        callback(null, isCollectorPath(request.url ?? '') ? collectorCors : noCors);
      },
    });
    registerBodyParsing(scope, ctx.options.maxBatchBytes);
    // Cheap refusals first, before the body is read: per-IP rate limit and a full append pipeline.
    // Callback-style hooks: an async one costs a promise per request.
    scope.addHook('onRequest', (request: FastifyRequest, _reply, done) => {
      if (request.method === 'OPTIONS') return done();
      if (ctx.gate.full) {
        ctx.metrics.refused.inc({ reason: 'overloaded' });
        return done(overloaded());
      }
      if (ctx.ipBuckets !== undefined) {
        const wait = ctx.ipBuckets.take(request.ip, 1, Date.now());
        if (wait > 0) {
          ctx.metrics.refused.inc({ reason: 'rate_limit_ip' });
          return done(
            new TracklaneError(
              'E_RATE_LIMITED',
              `too many requests from this address (over ${ctx.options.rateLimitPerIp}/s): retry after ${wait} s`,
              { retryAfterSeconds: wait },
            ),
          );
        }
      }
      done();
    });
    // Before the error handler answers: a request that failed as a whole becomes a dead letter.
    scope.addHook('onError', (request, _reply, error) => recordFailedRequest(ctx, request, error));
    scope.addHook('onResponse', (request, reply, done) => {
      ctx.metrics.observeRequest(
        request.routeOptions.url ?? 'unknown',
        reply.statusCode,
        reply.elapsedTime / 1000,
      );
      done();
    });
    registerSegmentRoutes(scope, ctx);
    registerPostHogRoutes(scope, ctx);
    registerSnowplowRoutes(scope, ctx);
  });
}
