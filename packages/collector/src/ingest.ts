import {
  type FieldError,
  newMessageId,
  type TrackedEvent,
  TracklaneError,
  validateEvent,
} from '@tracklane/core';
import type { RecordInput } from '@tracklane/log';
import type { CollectorContext } from './collector-context.ts';
import { DEAD_LETTER_TOPIC, type RejectReason, toDeadLetterRecord } from './dead-letter.ts';
import { DedupIndex } from './dedup/dedup-index.ts';
import { EVENTS_TOPIC, toEventRecord } from './event-record.ts';
import { jsonFits } from './json-fits.ts';
import type { RequestFacts } from './request-facts.ts';
import type { Source } from './sources.ts';
import { toTrackedEvent } from './to-tracked-event.ts';
import { Unmappable } from './unmappable.ts';

export interface Rejection {
  /** Position of the event in the request (batch index; 0 for single-event requests). */
  index: number;
  messageId?: string;
  reason: RejectReason;
  message: string;
  fields?: FieldError[];
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejected: Rejection[];
}

/**
 * The one ingestion path every protocol goes through: validate, apply the tracking plan, drop duplicates,
 * enrich, then append good events to `events` and rejected ones to `dead-letter` together. Resolves only
 * once both appends are durable, so a client that saw success may forget its events. Per-event failures
 * never fail the request; only the log failing or being overloaded does (and then nothing is remembered
 * as seen, so the client's retry is accepted).
 *
 * `pathPrefix` makes error paths point into the request body (`/batch/3`); `checkSizes` is false when the
 * whole body is smaller than the per-event limit, which spares even the size bound's walk of each event.
 * An accepted event is serialised once, for its log record.
 */
export async function ingest(
  ctx: CollectorContext,
  source: Source,
  candidates: unknown[],
  pathPrefix: string | undefined,
  facts: RequestFacts,
  protocol: string,
  checkSizes: boolean,
): Promise<IngestResult> {
  const { dedup, enrichment, options } = ctx;
  const plan = ctx.plans.size === 0 ? undefined : (ctx.plans.get(source.id) ?? ctx.plans.get('*'));
  const now = facts.receivedAtMs;
  const records: RecordInput[] = [];
  const keys: string[] = [];
  const slots: number[] = [];
  const deadLetters: RecordInput[] = [];
  const rejected: Rejection[] = [];
  let duplicates = 0;

  for (let i = 0; i < candidates.length; i++) {
    const candidate = candidates[i];
    if (candidate instanceof Unmappable) {
      reject(candidate.raw, i, 'unmappable', candidate.reason, undefined);
      continue;
    }
    // Most events are far below the limit, which a walk shows without serialising them (see json-fits.ts).
    if (checkSizes && !jsonFits(candidate, options.maxEventBytes)) {
      const size = Buffer.byteLength(JSON.stringify(candidate) ?? '');
      if (size > options.maxEventBytes) {
        reject(candidate, i, 'too_large', `event is ${size} bytes; the limit is ${options.maxEventBytes}`, [
          { path: pathOf(i) || '/', message: `event larger than ${options.maxEventBytes} bytes` },
        ]);
        continue;
      }
    }
    // Error paths are only built for events that fail (validated again with their path, which is rare).
    let result = validateEvent(candidate);
    if (!result.ok && pathPrefix !== undefined) result = validateEvent(candidate, pathOf(i));
    if (!result.ok) {
      reject(
        candidate,
        i,
        'validation',
        result.errors.map((e) => `${e.path}: ${e.message}`).join('; '),
        result.errors,
      );
      continue;
    }
    // An id generated here has never been seen, so only client-sent ids go through the dedup index.
    const clientId = result.event.messageId !== undefined;
    const event = toTrackedEvent(result.event, source.id, facts.receivedAt);
    const key = clientId ? DedupIndex.key(source.id, event.messageId) : undefined;
    const slot = key === undefined ? -1 : dedup.slotOf(key);
    // A client message id whose append is still in flight (in another request) is not a duplicate yet: a
    // client whose request timed out retries while the first append is pending, and answering that retry
    // "duplicate" acknowledged events the pending append could still fail to store (seen when a NATS node
    // was killed: the append gave up after 10 s, the retry had been acked). The retry is appended again;
    // the log's message-id dedup and the store's insert on message id absorb the copy.
    if (key !== undefined && slot !== -1 && dedup.isFresh(slot, now)) {
      // keys.includes only runs for an id in flight elsewhere (rare): a repeat within this request stays a duplicate.
      if (!dedup.isAppending(slot) || keys.includes(key)) {
        duplicates++;
        continue;
      }
    }
    for (let s = 0; s < enrichment.length; s++) enrichment[s]!(event, facts);
    if (plan !== undefined) {
      const violations = plan.check(event);
      if (violations !== undefined) {
        if (plan.mode === 'strict') {
          const payload = event as Partial<TrackedEvent>;
          delete payload.receivedAt;
          delete payload.sourceId;
          reject(payload, i, 'tracking_plan', violations.join('; '), [
            { path: `${pathOf(i)}/properties`, message: violations.join('; ') },
          ]);
          continue;
        }
        const context = event.context as { tracklane: { violations?: string[] } };
        context.tracklane ??= {};
        context.tracklane.violations = violations;
      }
    }
    if (key !== undefined) {
      slots.push(dedup.begin(key, slot, now));
      keys.push(key);
    }
    records.push(toEventRecord(event, now));
  }

  const count = records.length + deadLetters.length;
  if (count > 0) {
    if (!ctx.gate.tryAcquire(count)) {
      for (let k = 0; k < keys.length; k++) dedup.settle(slots[k]!, keys[k]!, false);
      ctx.metrics.refused.inc({ reason: 'overloaded' });
      throw overloaded();
    }
    ctx.metrics.inFlight.set(ctx.gate.current);
    const started = performance.now();
    try {
      if (deadLetters.length === 0) await ctx.log.append(EVENTS_TOPIC, records);
      else if (records.length === 0) await ctx.log.append(DEAD_LETTER_TOPIC, deadLetters);
      else
        await Promise.all([
          ctx.log.append(EVENTS_TOPIC, records),
          ctx.log.append(DEAD_LETTER_TOPIC, deadLetters),
        ]);
    } catch (err) {
      // Forgotten, so the client's retry is accepted; unless a concurrent request (a retry) stored them.
      for (let k = 0; k < keys.length; k++) dedup.settle(slots[k]!, keys[k]!, false);
      throw err;
    } finally {
      ctx.gate.release(count);
      ctx.metrics.inFlight.set(ctx.gate.current);
      ctx.metrics.appendDuration.observe((performance.now() - started) / 1000);
    }
    for (let k = 0; k < keys.length; k++) dedup.settle(slots[k]!, keys[k]!, true);
    dedup.persist(keys, now);
  }
  if (records.length > 0) ctx.metrics.acceptedFor(protocol).inc(records.length);
  if (duplicates > 0) ctx.metrics.duplicates.inc({ protocol }, duplicates);
  if (deadLetters.length > 0) ctx.metrics.deadLetters.inc(deadLetters.length);
  return { accepted: records.length, duplicates, rejected };

  function pathOf(index: number): string {
    return pathPrefix === undefined ? '' : `${pathPrefix}/${index}`;
  }

  function reject(
    payload: unknown,
    index: number,
    reason: RejectReason,
    message: string,
    fields: FieldError[] | undefined,
  ): void {
    // An id on every dead letter makes its replay idempotent: replaying twice appends once.
    let messageId: string | undefined;
    if (typeof payload === 'object' && payload !== null && !Array.isArray(payload)) {
      const record = payload as { messageId?: unknown };
      if (record.messageId === undefined) record.messageId = newMessageId();
      if (typeof record.messageId === 'string') messageId = record.messageId;
    }
    deadLetters.push(toDeadLetterRecord(payload, reason, message, source.id, messageId, now));
    const rejection: Rejection = { index, reason, message };
    if (messageId !== undefined) rejection.messageId = messageId;
    if (fields !== undefined) rejection.fields = fields;
    rejected.push(rejection);
    ctx.metrics.rejected.inc({ protocol, reason });
  }
}

export function overloaded(): TracklaneError {
  return new TracklaneError(
    'E_OVERLOADED',
    'the collector is overloaded: retry after the Retry-After delay',
    {
      retryAfterSeconds: 1,
    },
  );
}
