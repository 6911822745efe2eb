import type { TrackedEvent } from '@tracklane/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { LiveEvents } from '../live-events.ts';

/** Events buffered per client while its socket is busy; beyond this, events are dropped and counted. */
const MAX_PENDING = 1_000;
const HEARTBEAT_MS = 15_000;

interface LiveQuery {
  /** Comma-separated event names (track name, or `$page`, `$identify`, ...). */
  event?: string;
  type?: string;
  userId?: string;
  anonymousId?: string;
}

/**
 * `GET /api/live?event=Signed%20Up,Purchased&type=track&userId=...` : Server-Sent Events, one `event`
 * message per stored event matching every given filter. A slow client never slows ingestion: it gets a
 * bounded buffer, then a `dropped` message saying how many events it missed.
 */
export function registerLiveTailRoute(
  app: FastifyInstance,
  live: LiveEvents,
  checkApiKey: (request: FastifyRequest) => void,
): void {
  // Open streams never go idle, so the server would wait for them forever on shutdown: end them first.
  const open = new Set<{ end(): void }>();
  app.addHook('preClose', async () => {
    for (const stream of open) stream.end();
  });
  app.get<{ Querystring: LiveQuery }>('/api/live', async (request, reply) => {
    checkApiKey(request);
    const matches = matcher(request.query);
    const out = reply.raw;
    let pending: string[] = [];
    let waiting = false;
    let dropped = 0;
    const flush = () => {
      waiting = false;
      if (dropped > 0) {
        pending.push(`event: dropped\ndata: ${JSON.stringify({ dropped })}\n\n`);
        dropped = 0;
      }
      const chunk = pending.join('');
      pending = [];
      if (chunk.length > 0 && !out.write(chunk)) {
        waiting = true;
        out.once('drain', flush);
      }
    };
    const unsubscribe = live.subscribe((events) => {
      for (const event of events) {
        if (!matches(event)) continue;
        if (pending.length >= MAX_PENDING) dropped++;
        else pending.push(`event: event\nid: ${event.messageId}\ndata: ${JSON.stringify(event)}\n\n`);
      }
      if (!waiting) flush();
    });
    reply.hijack();
    out.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    out.write(': connected\n\n');
    open.add(out);
    const heartbeat = setInterval(() => {
      if (!waiting) out.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    request.raw.once('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(out);
    });
  });
}

function matcher(query: LiveQuery): (event: TrackedEvent) => boolean {
  const names = query.event
    ?.split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
  return (event) => {
    const record = event as { event?: string };
    if (query.type !== undefined && event.type !== query.type) return false;
    if (query.userId !== undefined && event.userId !== query.userId) return false;
    if (query.anonymousId !== undefined && event.anonymousId !== query.anonymousId) return false;
    if (names !== undefined && names.length > 0) {
      const name = event.type === 'track' ? record.event : `$${event.type}`;
      if (!names.includes(name ?? '') && !(event.type === 'page' && names.includes('$pageview')))
        return false;
    }
    return true;
  };
}
