import type { FastifyInstance, FastifyRequest } from 'fastify';
import { allRejected, collect, partialBody } from '../collect.ts';
import type { CollectorContext } from '../collector-context.ts';
import {
  fromSnowplowEvent,
  PIXEL_GIF,
  SNOWPLOW_PIXEL_PATH,
  SNOWPLOW_POST_PATH,
  snowplowPayloads,
} from '../protocols/snowplow.ts';
import type { Source } from '../sources.ts';
import { writeKeyFrom } from '../write-key.ts';

type Bag = Record<string, unknown>;

/**
 * Snowplow's tracker protocol. The protocol has no write key, so a request's source is, in order: the
 * HTTP Basic username (trackers can send custom headers), `?writeKey=` on the URL (pixels), the first
 * event's `aid` (app id) when it equals a write key, else the operator's configured Snowplow source
 * (`--snowplow-write-key`). Without any of these the request is refused with 401.
 */
export function registerSnowplowRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  app.post(SNOWPLOW_POST_PATH, async (request, reply) => {
    const payloads = snowplowPayloads(request.body);
    const result = await ingestSnowplow(ctx, request, payloads, '/data');
    if (result.rejected.length === 0) return reply.code(200).send({ success: true });
    if (result.accepted + result.duplicates === 0) throw allRejected(result);
    return reply.code(200).send(partialBody(result));
  });
  app.get(SNOWPLOW_PIXEL_PATH, async (request, reply) => {
    const query = { ...(request.query as Bag) };
    delete query.writeKey;
    await ingestSnowplow(ctx, request, [query], undefined);
    // A pixel always answers with the image: a rejected event is in dead_letters, not the page's problem.
    return reply
      .code(200)
      .header('content-type', 'image/gif')
      .header('cache-control', 'no-cache, no-store, must-revalidate')
      .send(PIXEL_GIF);
  });
}

function ingestSnowplow(
  ctx: CollectorContext,
  request: FastifyRequest,
  payloads: Bag[],
  pathPrefix: string | undefined,
) {
  let source: Source | undefined;
  let appIdIsKey = false;
  const explicit =
    writeKeyFrom(request.headers.authorization, undefined) ??
    ((request.query as Bag).writeKey as string | undefined);
  if (explicit !== undefined) source = ctx.sources.lookup(explicit);
  else {
    const aid = payloads[0]?.aid;
    source = typeof aid === 'string' ? ctx.sources.lookup(aid) : undefined;
    appIdIsKey = source !== undefined;
    source ??= ctx.snowplowSource;
  }
  const userAgent = request.headers['user-agent'];
  const candidates = new Array<unknown>(payloads.length);
  for (let i = 0; i < payloads.length; i++)
    candidates[i] = fromSnowplowEvent(payloads[i], userAgent, appIdIsKey);
  return collect(ctx, request, source, candidates, pathPrefix, undefined, 'snowplow');
}
