import type { TrackedEvent } from '@tracklane/core';
import type { RecordInput } from '@tracklane/log';

export const EVENTS_TOPIC = 'events';

/**
 * Events are keyed by anonymousId (falling back to userId) so one visitor's events stay in order on one
 * partition, which sessionisation relies on.
 */
export function toEventRecord(event: TrackedEvent): RecordInput {
  return {
    key: event.anonymousId ?? event.userId ?? null,
    value: Buffer.from(JSON.stringify(event)),
    timestamp: Date.parse(event.receivedAt),
    headers: { 'message-id': event.messageId, source: event.sourceId },
  };
}
