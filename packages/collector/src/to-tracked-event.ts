import { type IncomingEvent, newMessageId, type TrackedEvent } from '@tracklane/core';

/**
 * Adds the server fields to a validated event. The client's `timestamp` is kept as sent (clock-skew
 * correction from `sentAt` is a separate enrichment step); when absent the event happened when received.
 */
export function toTrackedEvent(event: IncomingEvent, sourceId: string, receivedAt: string): TrackedEvent {
  const tracked = event as TrackedEvent;
  tracked.messageId = event.messageId ?? newMessageId();
  tracked.timestamp = event.timestamp ?? receivedAt;
  tracked.receivedAt = receivedAt;
  tracked.sourceId = sourceId;
  // The write key may travel in the body (beacons); it is a secret and must never reach the log.
  delete (tracked as { writeKey?: string }).writeKey;
  return tracked;
}
