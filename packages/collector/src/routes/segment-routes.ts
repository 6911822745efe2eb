import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { allRejected, collect, partialBody } from '../collect.ts';
import type { CollectorContext } from '../collector-context.ts';
import {
  SEGMENT_BATCH_PATHS,
  SEGMENT_SINGLE_PATHS,
  segmentBatch,
  segmentSentAt,
  segmentSingle,
} from '../protocols/segment.ts';
import { writeKeyFrom } from '../write-key.ts';

const SUCCESS = { success: true };

/**
 * Segment's HTTP Tracking API. 200 `{success: true}` once the events are durable; when some events of a
 * batch are invalid the good ones are kept and the 200 body lists the rejected ones (Segment clients only
 * look at the status, and must not resend the good ones); 400 when none was valid.
 */
export function registerSegmentRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  for (const [path, type] of Object.entries(SEGMENT_SINGLE_PATHS)) {
    app.post(`/v1/${path}`, (request, reply) =>
      handle(ctx, request, reply, segmentSingle(request.body, type), undefined),
    );
  }
  for (const path of SEGMENT_BATCH_PATHS) {
    app.post(`/v1/${path}`, (request, reply) =>
      handle(ctx, request, reply, segmentBatch(request.body), '/batch'),
    );
  }
}

async function handle(
  ctx: CollectorContext,
  request: FastifyRequest,
  reply: FastifyReply,
  candidates: unknown[],
  pathPrefix: string | undefined,
): Promise<FastifyReply> {
  const body = request.body;
  const source = ctx.sources.lookup(writeKeyFrom(request.headers.authorization, body));
  const result = await collect(ctx, request, source, candidates, pathPrefix, segmentSentAt(body), 'segment');
  if (result.rejected.length === 0) return reply.code(200).send(SUCCESS);
  if (result.accepted + result.duplicates === 0) throw allRejected(result);
  return reply.code(200).send(partialBody(result));
}
