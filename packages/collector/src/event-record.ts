import type { TrackedEvent } from '@tracklane/core';
import type { RecordInput } from '@tracklane/log';

export const EVENTS_TOPIC = 'events';

/**
 * Events are keyed by anonymousId (falling back to userId) so one visitor's events stay in order on one
 * partition, which sessionisation relies on.
 */
export function toEventRecord(event: TrackedEvent, receivedAtMs = Date.parse(event.receivedAt)): RecordInput {
  return {
    key: event.anonymousId ?? event.userId ?? null,
    value: Buffer.from(JSON.stringify(event)),
    timestamp: receivedAtMs,
    headers: { 'message-id': event.messageId, source: event.sourceId },
  };
}
