import { type FieldError, type IncomingEvent, TracklaneError, validateEvent } from '@tracklane/core';
import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from '../collector-context.ts';
import { EVENTS_TOPIC, toEventRecord } from '../event-record.ts';
import { toTrackedEvent } from '../to-tracked-event.ts';
import { writeKeyFrom } from '../write-key.ts';

/**
 * Segment's `POST /v1/batch`. Answers 200 only once every event of the batch is durable in the log, so a
 * client that saw success may forget the events. The batch is accepted or rejected whole.
 */
export function registerSegmentBatch(app: FastifyInstance, context: CollectorContext): void {
  app.post('/v1/batch', async (request, reply) => {
    const body = request.body;
    const source = context.sources.lookup(writeKeyFrom(request.headers.authorization, body));
    if (source === undefined) {
      throw new TracklaneError(
        'E_UNAUTHORIZED',
        'unknown or missing write key: send it as the HTTP Basic username or as "writeKey" in the body',
      );
    }
    if (typeof body !== 'object' || body === null || !Array.isArray((body as { batch?: unknown }).batch)) {
      throw new TracklaneError('E_VALIDATION', 'body must be a JSON object with a "batch" array of events', {
        fields: [{ path: '/batch', message: 'batch must be an array of events' }],
      });
    }
    const batch = (body as { batch: unknown[] }).batch;
    const events: IncomingEvent[] = [];
    const errors: FieldError[] = [];
    for (let i = 0; i < batch.length; i++) {
      const result = validateEvent(batch[i], `/batch/${i}`);
      if (result.ok) events.push(result.event);
      else errors.push(...result.errors);
    }
    if (errors.length > 0) {
      throw new TracklaneError(
        'E_VALIDATION',
        `${errors.length} invalid field(s) in the batch; nothing was stored: fix them and resend`,
        { fields: errors.slice(0, 100) },
      );
    }
    if (events.length > 0) {
      const receivedAt = new Date().toISOString();
      const records = new Array(events.length);
      for (let i = 0; i < events.length; i++) {
        records[i] = toEventRecord(toTrackedEvent(events[i]!, source.id, receivedAt));
      }
      await context.log.append(EVENTS_TOPIC, records);
    }
    return reply.code(200).send({ success: true });
  });
}
