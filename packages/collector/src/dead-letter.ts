import type { RecordInput } from '@tracklane/log';

export const DEAD_LETTER_TOPIC = 'dead-letter';

/** Reasons an event (or, for `invalid_request`, a whole request) is dead-lettered at the collector; also
 * the `reason` label of the rejected metric. */
export type RejectReason = 'validation' | 'too_large' | 'tracking_plan' | 'unmappable' | 'invalid_request';

/** Kept at most of a payload: enough to see and fix it, not a way to store arbitrary junk. */
const MAX_PAYLOAD_BYTES = 64 * 1024;

/**
 * A rejected event as a record of the dead-letter topic: the value is the event as received (JSON), the
 * headers say where and why it failed. The server's dead-letter writer copies these into `dead_letters`.
 */
export function toDeadLetterRecord(
  payload: unknown,
  reason: RejectReason,
  detail: string,
  sourceId: string,
  messageId: string | undefined,
  failedAtMs: number,
): RecordInput {
  let text: string;
  try {
    text = JSON.stringify(payload) ?? 'null';
  } catch {
    text = String(payload);
  }
  const value = Buffer.from(text);
  const headers: Record<string, string> = {
    stage: 'collector',
    reason: `${reason}: ${detail}`.slice(0, 2_000),
    source: sourceId,
  };
  if (messageId !== undefined) headers['message-id'] = messageId;
  return {
    key: messageId ?? null,
    value: value.length > MAX_PAYLOAD_BYTES ? value.subarray(0, MAX_PAYLOAD_BYTES) : value,
    headers,
    timestamp: failedAtMs,
  };
}

/**
 * A request that failed as a whole (body not JSON, not gzip, wrong shape, too large) as a record of the
 * dead-letter topic: the value is the body as received, cut at the same bound as event payloads (empty when
 * the body was never read, e.g. over the size limit), so what a client sent is never silently lost.
 */
export function toRequestDeadLetterRecord(
  body: string,
  detail: string,
  sourceId: string,
  failedAtMs: number,
): RecordInput {
  const value = Buffer.from(body);
  return {
    key: null,
    value: value.length > MAX_PAYLOAD_BYTES ? value.subarray(0, MAX_PAYLOAD_BYTES) : value,
    headers: { stage: 'collector', reason: `invalid_request: ${detail}`.slice(0, 2_000), source: sourceId },
    timestamp: failedAtMs,
  };
}
