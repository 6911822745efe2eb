import { type IncomingEvent, newMessageId, type TrackedEvent } from '@tracklane/core';

/**
 * Adds the server fields to a validated event, in place. `timestamp` is decided by the clock-skew step
 * (enrich/clock-skew.ts), which always runs first.
 */
export function toTrackedEvent(event: IncomingEvent, sourceId: string, receivedAt: string): TrackedEvent {
  const tracked = event as TrackedEvent;
  if (tracked.messageId === undefined) tracked.messageId = newMessageId();
  tracked.receivedAt = receivedAt;
  tracked.sourceId = sourceId;
  // The write key may travel in the body (beacons); it is a secret and must never reach the log.
  if (tracked.writeKey !== undefined) delete (tracked as { writeKey?: string }).writeKey;
  return tracked;
}
