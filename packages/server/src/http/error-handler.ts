import { type ErrorCode, isTracklaneError } from '@tracklane/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** The one place where error codes become HTTP statuses. */
const STATUS: Record<ErrorCode, number> = {
  E_INVALID_JSON: 400,
  E_VALIDATION: 400,
  E_BAD_ARGUMENT: 400,
  E_SQL: 400,
  E_READ_ONLY_SQL: 403,
  E_UNAUTHORIZED: 401,
  E_NOT_FOUND: 404,
  E_PAYLOAD_TOO_LARGE: 413,
  E_RECORD_TOO_LARGE: 413,
  E_UNSUPPORTED_MEDIA_TYPE: 415,
  E_QUERY_TIMEOUT: 408,
  E_NOT_READY: 503,
  E_LOG_CLOSED: 503,
  E_LOG_LOCKED: 503,
  E_TOPIC_NOT_FOUND: 500,
  E_TOPIC_EXISTS: 500,
  E_OFFSET_OUT_OF_RANGE: 500,
  E_CORRUPT_RECORD: 500,
  E_CONFIG: 500,
  E_RATE_LIMITED: 429,
  E_OVERLOADED: 503,
  E_NOT_SUPPORTED: 501,
};

const CLIENT_ERROR_CODES: Record<number, string> = {
  403: 'E_FORBIDDEN',
  404: 'E_NOT_FOUND',
  405: 'E_METHOD_NOT_ALLOWED',
  408: 'E_REQUEST_TIMEOUT',
};

export interface ErrorBody {
  error: { code: string; message: string; fields?: { path: string; message: string }[] };
}

export function statusFor(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** Turns any thrown error into `{error: {code, message, fields?}}` with the right status. Fastify's own
 * body-parsing errors are translated to our codes so clients see one error vocabulary. */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (isTracklaneError(error)) {
    const status = statusFor(error.code);
    // Overload is expected under load and reported by metrics; logging each one would add to the load.
    if (status >= 500 && error.code !== 'E_OVERLOADED')
      request.log.error({ reqId: request.id, err: error }, 'request failed');
    if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
    else if (error.code === 'E_NOT_READY' || error.code === 'E_LOG_CLOSED') reply.header('retry-after', '1');
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    if (error.fields !== undefined) body.error.fields = error.fields;
    reply.code(status).send(body);
    return;
  }
  const fastifyCode = error.code;
  if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    reply.code(413).send({
      error: { code: 'E_PAYLOAD_TOO_LARGE', message: 'request body too large: send smaller batches' },
    });
    return;
  }
  if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    reply.code(415).send({
      error: { code: 'E_UNSUPPORTED_MEDIA_TYPE', message: 'send the body as application/json' },
    });
    return;
  }
  if (
    error instanceof SyntaxError ||
    fastifyCode === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    error.statusCode === 400
  ) {
    reply.code(400).send({
      error: { code: 'E_INVALID_JSON', message: `request body is not valid JSON: ${error.message}` },
    });
    return;
  }
  // Other client errors raised by fastify or its plugins (a static file path that escapes its root, a
  // wrong method...) keep their status; only real failures become 500s.
  const status = error.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    reply
      .code(status)
      .send({ error: { code: CLIENT_ERROR_CODES[status] ?? 'E_BAD_REQUEST', message: error.message } });
    return;
  }
  request.log.error({ reqId: request.id, err: error }, 'unexpected error');
  reply.code(500).send({ error: { code: 'E_INTERNAL', message: 'internal error; see the server log' } });
}
