import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from './collector-context.ts';
import { registerSegmentBatch } from './routes/segment-batch.ts';

/** Largest request body the collector reads (Segment's batch limit), before any decompression. */
export const MAX_BATCH_BYTES = 500 * 1024;

/**
 * Registers the collector's routes in their own encapsulated scope: its body limit and content-type
 * parsers do not leak into the analytics API.
 */
export async function collectorPlugin(app: FastifyInstance, context: CollectorContext): Promise<void> {
  // Write keys are public by design (they ship in web pages), so any origin may send events; no cookies
  // are involved, hence no credentials.
  await app.register(cors, {
    origin: '*',
    methods: ['POST', 'GET', 'OPTIONS'],
    allowedHeaders: ['content-type', 'authorization', 'content-encoding'],
    maxAge: 86_400,
  });
  // Browser beacons send JSON as text/plain so the request needs no CORS preflight.
  app.addContentTypeParser(
    'text/plain',
    { parseAs: 'string', bodyLimit: MAX_BATCH_BYTES },
    (_req, text, done) => {
      try {
        done(null, JSON.parse(text as string));
      } catch (err) {
        const error = err as Error & { statusCode?: number };
        error.statusCode = 400;
        done(error, undefined);
      }
    },
  );
  registerSegmentBatch(app, context);
}
