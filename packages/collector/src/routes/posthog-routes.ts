import type { FastifyInstance, FastifyRequest } from 'fastify';
import { allRejected, collect, partialBody } from '../collect.ts';
import type { CollectorContext } from '../collector-context.ts';
import {
  decodePostHogBody,
  fromPostHogEvent,
  POSTHOG_PATHS,
  readPostHogRequest,
} from '../protocols/posthog.ts';

type Query = Record<string, unknown>;

/** PostHog's capture API. The project api_key/token is looked up as a Tracklane write key. Answers
 * PostHog's `{"status": 1}`. */
export function registerPostHogRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  const handler = async (request: FastifyRequest) => {
    const query = (request.query ?? {}) as Query;
    const decoded = decodePostHogBody(request.body, query);
    const parsed = readPostHogRequest(decoded, query);
    const candidates = new Array<unknown>(parsed.events.length);
    for (let i = 0; i < parsed.events.length; i++) candidates[i] = fromPostHogEvent(parsed.events[i]);
    const source = ctx.sources.lookup(parsed.apiKey ?? bearer(request.headers.authorization));
    const result = await collect(
      ctx,
      request,
      source,
      candidates,
      parsed.pathPrefix,
      parsed.sentAt,
      'posthog',
    );
    if (result.rejected.length === 0) return { status: 1 };
    if (result.accepted + result.duplicates === 0) throw allRejected(result);
    return { status: 1, ...partialBody(result) };
  };
  for (const path of POSTHOG_PATHS) {
    app.post(path, handler);
    // posthog-js falls back to GET with `?data=` for some transports.
    app.get(path, (request) => handler(Object.assign(request, { body: request.query })));
  }
}

function bearer(authorization: string | undefined): string | undefined {
  return authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
}
