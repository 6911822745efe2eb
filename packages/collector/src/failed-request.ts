import { isTracklaneError } from '@tracklane/core';
import type { FastifyRequest } from 'fastify';
import type { CollectorContext } from './collector-context.ts';
import { DEAD_LETTER_TOPIC, toRequestDeadLetterRecord } from './dead-letter.ts';
import { POSTHOG_PATHS } from './protocols/posthog.ts';
import type { Source } from './sources.ts';
import { writeKeyFrom } from './write-key.ts';

type Bag = Record<string, unknown>;

/** Bodies that failed to parse, kept beside their error until the error is dead-lettered. */
const rawBodies = new WeakMap<object, string>();
/** Errors whose events are already dead letters one by one (every event of a batch rejected). */
const alreadyDeadLettered = new WeakSet<object>();

export function rememberRawBody(error: object, body: string): void {
  rawBodies.set(error, body);
}

export function markDeadLettered<E extends object>(error: E): E {
  alreadyDeadLettered.add(error);
  return error;
}

/** Whole-request failures the client caused; not refusals it should retry (401, 429, 503). */
const RECORDED_CODES = new Set<string>([
  'E_INVALID_JSON',
  'E_VALIDATION',
  'E_PAYLOAD_TOO_LARGE',
  'E_BAD_ARGUMENT',
  'E_UNSUPPORTED_MEDIA_TYPE',
]);
const RECORDED_STATUSES = new Set([400, 413, 415]);

function isWholeRequestFailure(error: Error): boolean {
  if (alreadyDeadLettered.has(error)) return false;
  if (isTracklaneError(error)) return RECORDED_CODES.has(error.code);
  const status = (error as { statusCode?: unknown }).statusCode;
  return error instanceof SyntaxError || (typeof status === 'number' && RECORDED_STATUSES.has(status));
}

/**
 * Records a request that failed as a whole as a dead letter (reason, raw body), when it names a source:
 * unauthenticated junk is answered but not stored. Best effort: the client has its 4xx either way, so a
 * full pipeline or a failing log skips the letter (counted in the log output) rather than fail the reply.
 */
export async function recordFailedRequest(
  ctx: CollectorContext,
  request: FastifyRequest,
  error: Error,
): Promise<void> {
  if (!isWholeRequestFailure(error)) return;
  const source = requestSource(ctx, request);
  if (source === undefined) return;
  const body =
    rawBodies.get(error) ??
    (typeof request.body === 'string' ? request.body : (JSON.stringify(request.body) ?? ''));
  const record = toRequestDeadLetterRecord(body, error.message, source.id, Date.now());
  if (!ctx.gate.tryAcquire(1)) {
    request.log.warn({ reqId: request.id }, 'failed request not dead-lettered: the collector is overloaded');
    return;
  }
  try {
    await ctx.log.append(DEAD_LETTER_TOPIC, [record]);
    ctx.metrics.rejected.inc({ protocol: protocolOf(request.url), reason: 'invalid_request' });
    ctx.metrics.deadLetters.inc();
  } catch (err) {
    request.log.warn({ reqId: request.id, err }, 'failed request not dead-lettered: the log refused it');
  } finally {
    ctx.gate.release(1);
  }
}

/** The source a request names outside its events: Basic or Bearer auth, the query, or body-level keys. */
function requestSource(ctx: CollectorContext, request: FastifyRequest): Source | undefined {
  const query = (request.query ?? {}) as Bag;
  const body = typeof request.body === 'object' && request.body !== null ? (request.body as Bag) : {};
  const authorization = request.headers.authorization;
  const candidates = [
    writeKeyFrom(authorization, body),
    authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined,
    query.writeKey,
    query.api_key,
    query.token,
    body.api_key,
    body.token,
  ];
  for (const key of candidates) {
    if (typeof key !== 'string') continue;
    const source = ctx.sources.lookup(key);
    if (source !== undefined) return source;
  }
  return protocolOf(request.url) === 'snowplow' ? ctx.snowplowSource : undefined;
}

function protocolOf(url: string): string {
  if (url.startsWith('/v1/')) return 'segment';
  const q = url.indexOf('?');
  return POSTHOG_PATHS.includes(q === -1 ? url : url.slice(0, q)) ? 'posthog' : 'snowplow';
}
