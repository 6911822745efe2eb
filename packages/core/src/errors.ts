/**
 * Every error Tracklane raises on purpose carries a stable code. The HTTP status for each code is decided
 * once, in the server's error mapper, so packages below the server never think about HTTP.
 */
export type ErrorCode =
  | 'E_INVALID_JSON'
  | 'E_VALIDATION'
  | 'E_UNAUTHORIZED'
  | 'E_PAYLOAD_TOO_LARGE'
  | 'E_UNSUPPORTED_MEDIA_TYPE'
  | 'E_NOT_FOUND'
  | 'E_NOT_READY'
  | 'E_READ_ONLY_SQL'
  | 'E_SQL'
  | 'E_QUERY_TIMEOUT'
  | 'E_TOPIC_NOT_FOUND'
  | 'E_TOPIC_EXISTS'
  | 'E_OFFSET_OUT_OF_RANGE'
  | 'E_LOG_CLOSED'
  | 'E_LOG_LOCKED'
  | 'E_CORRUPT_RECORD'
  | 'E_RECORD_TOO_LARGE'
  | 'E_BAD_ARGUMENT'
  | 'E_CONFIG'
  | 'E_RATE_LIMITED'
  | 'E_OVERLOADED'
  /** The route needs something this deployment does not have (e.g. DuckDB SQL on another store). */
  | 'E_NOT_SUPPORTED';

export interface FieldError {
  /** JSON pointer into the request body, e.g. `/batch/3/userId`. */
  path: string;
  message: string;
}

export class TracklaneError extends Error {
  readonly code: ErrorCode;
  readonly fields: FieldError[] | undefined;
  /** For E_RATE_LIMITED / E_OVERLOADED: when the client may try again (becomes `Retry-After`). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { fields?: FieldError[]; cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TracklaneError';
    this.code = code;
    this.fields = options?.fields;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

export function isTracklaneError(err: unknown): err is TracklaneError {
  return err instanceof TracklaneError;
}
