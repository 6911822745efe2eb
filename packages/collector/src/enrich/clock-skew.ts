import type { TrackedEvent } from '@tracklane/core';
import type { RequestFacts } from '../request-facts.ts';

/**
 * Decides the event's `timestamp`. Without a client timestamp the event happened when received. With one
 * and a `sentAt` (the event's own, else the batch's), Segment's clock-skew correction applies: a device
 * whose clock is off sends timestamps off by the same amount as its `sentAt`, so
 * `timestamp = receivedAt - (sentAt - clientTimestamp)`. The client's own value is kept as
 * `originalTimestamp`. Must run first: later steps and storage rely on `timestamp` being set.
 */
export function correctClockSkew(event: TrackedEvent, facts: RequestFacts): void {
  const sentAt = event.sentAt ?? facts.sentAt;
  if (sentAt !== undefined && event.sentAt === undefined) event.sentAt = sentAt;
  const client = event.originalTimestamp ?? (event.timestamp as string | undefined);
  if (client === undefined) {
    event.timestamp = facts.receivedAt;
    return;
  }
  event.timestamp = client;
  if (sentAt === undefined) return;
  const sentMs = Date.parse(sentAt);
  const clientMs = Date.parse(client);
  if (Number.isNaN(sentMs) || Number.isNaN(clientMs)) return;
  event.originalTimestamp = client;
  event.timestamp = new Date(facts.receivedAtMs - (sentMs - clientMs)).toISOString();
}
