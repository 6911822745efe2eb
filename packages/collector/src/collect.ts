import { TracklaneError } from '@tracklane/core';
import type { FastifyRequest } from 'fastify';
import type { CollectorContext } from './collector-context.ts';
import { markDeadLettered } from './failed-request.ts';
import { type IngestResult, ingest } from './ingest.ts';
import type { RequestFacts } from './request-facts.ts';
import type { Source } from './sources.ts';

const UNAUTHORIZED =
  'unknown or missing write key: send it as the HTTP Basic username, as "writeKey" in the body, or as the ' +
  'protocol’s own key field (PostHog api_key/token, Snowplow aid or ?writeKey=)';

export function unauthorized(): TracklaneError {
  return new TracklaneError('E_UNAUTHORIZED', UNAUTHORIZED);
}

/** Resolves the key to a source, applies the per-key rate limit, and ingests the request's events. */
export function collect(
  ctx: CollectorContext,
  request: FastifyRequest,
  source: Source | undefined,
  candidates: unknown[],
  pathPrefix: string | undefined,
  sentAt: string | undefined,
  protocol: string,
): Promise<IngestResult> {
  if (source === undefined) throw unauthorized();
  const now = Date.now();
  if (ctx.keyBuckets !== undefined && candidates.length > 0) {
    const wait = ctx.keyBuckets.take(source.id, candidates.length, now);
    if (wait > 0) {
      ctx.metrics.refused.inc({ reason: 'rate_limit_key' });
      throw new TracklaneError(
        'E_RATE_LIMITED',
        `source ${source.id} is over ${ctx.options.rateLimitPerKey} events/s: retry after ${wait} s`,
        { retryAfterSeconds: wait },
      );
    }
  }
  const facts: RequestFacts = {
    ip: request.ip,
    userAgent: request.headers['user-agent'],
    receivedAt: new Date(now).toISOString(),
    receivedAtMs: now,
    sentAt,
  };
  const length = Number(request.headers['content-length']);
  // When the whole (unencoded) body fits the per-event limit, no event in it can exceed it.
  const checkSizes =
    request.headers['content-encoding'] !== undefined ||
    Number.isNaN(length) ||
    length > ctx.options.maxEventBytes;
  return ingest(ctx, source, candidates, pathPrefix, facts, protocol, checkSizes);
}

/** When every event was rejected the request as a whole failed: 400 naming each event's problem. */
export function allRejected(result: IngestResult): TracklaneError {
  const fields = [];
  for (const r of result.rejected) {
    if (r.fields !== undefined) fields.push(...r.fields);
    else fields.push({ path: `/${r.index}`, message: r.message });
    if (fields.length >= 100) break;
  }
  return markDeadLettered(
    new TracklaneError(
      'E_VALIDATION',
      `all ${result.rejected.length} event(s) were rejected; they are kept in dead_letters: fix them and resend`,
      { fields },
    ),
  );
}

/** Success body for requests where some events were rejected: clients see 200 (the good ones are kept
 * and must not be resent) and the body says what was dropped. */
export function partialBody(result: IngestResult): Record<string, unknown> {
  return {
    success: true,
    accepted: result.accepted + result.duplicates,
    rejected: result.rejected.map((r) => ({
      index: r.index,
      messageId: r.messageId,
      reason: r.reason,
      message: r.message,
    })),
  };
}
