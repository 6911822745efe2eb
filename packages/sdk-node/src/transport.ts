import { batchBody, type Message, type Transport } from '@tracklane/sdk-core';

/** Posts batches with the write key as the Basic-auth username (Segment's convention) and a timeout, so a
 * hung collector counts as a network failure and is retried instead of stalling the queue forever. */
export function fetchTransport(
  host: string,
  writeKey: string,
  timeoutMs: number,
  fetchFn = fetch,
): Transport {
  const url = `${host.replace(/\/+$/, '')}/v1/batch`;
  const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
  return {
    async send(batch: Message[]) {
      const res = await fetchFn(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: batchBody(batch),
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Reading the body (even unused) releases the connection back to the keep-alive pool.
      const body = await res.text();
      return { status: res.status, retryAfter: res.headers.get('retry-after'), body };
    },
  };
}
