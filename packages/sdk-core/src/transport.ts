import type { Message } from './message.ts';

/** What a transport reports back; only what the retry policy needs. */
export interface TransportResponse {
  status: number;
  /** The raw `Retry-After` header, if any. */
  retryAfter?: string | null;
  /** Read only for 400s, whose body names the rejected events. */
  body?: string;
}

/**
 * Carries one batch to the collector's `POST /v1/batch`. Each SDK has its own (the browser puts the write key
 * in a text/plain body to avoid a CORS preflight; Node uses Basic auth), the dispatcher owns every decision
 * about retries. `send` rejects only on a network failure; any HTTP answer resolves.
 */
export interface Transport {
  send(batch: Message[]): Promise<TransportResponse>;
}

/** The body `POST /v1/batch` expects; `sentAt` lets the collector correct client clock skew. */
export function batchBody(batch: Message[], writeKey?: string): string {
  return JSON.stringify(
    writeKey === undefined
      ? { batch, sentAt: new Date().toISOString() }
      : { batch, sentAt: new Date().toISOString(), writeKey },
  );
}
