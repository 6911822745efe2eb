import { type EventType, TracklaneError } from '@tracklane/core';

/** Segment HTTP Tracking API paths (full and the one-letter aliases browser libraries use) -> call type. */
export const SEGMENT_SINGLE_PATHS: Record<string, EventType> = {
  track: 'track',
  t: 'track',
  page: 'page',
  p: 'page',
  screen: 'screen',
  s: 'screen',
  identify: 'identify',
  i: 'identify',
  group: 'group',
  g: 'group',
  alias: 'alias',
  a: 'alias',
};

export const SEGMENT_BATCH_PATHS = ['batch', 'b', 'import'] as const;

/** A single-call body is the event itself; the path decides its type, as on Segment's API. */
export function segmentSingle(body: unknown, type: EventType): unknown[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new TracklaneError('E_VALIDATION', `body must be one ${type} event as a JSON object`, {
      fields: [{ path: '/', message: 'expected a JSON object' }],
    });
  }
  (body as { type?: unknown }).type = type;
  return [body];
}

export function segmentBatch(body: unknown): unknown[] {
  const batch = (body as { batch?: unknown } | null)?.batch;
  if (typeof body !== 'object' || body === null || !Array.isArray(batch)) {
    throw new TracklaneError('E_VALIDATION', 'body must be a JSON object with a "batch" array of events', {
      fields: [{ path: '/batch', message: 'batch must be an array of events' }],
    });
  }
  return batch;
}

/** Segment libraries send `sentAt` once per batch (analytics-node) or on each event (analytics.js). */
export function segmentSentAt(body: unknown): string | undefined {
  const sentAt = (body as { sentAt?: unknown }).sentAt;
  return typeof sentAt === 'string' && !Number.isNaN(Date.parse(sentAt)) ? sentAt : undefined;
}
