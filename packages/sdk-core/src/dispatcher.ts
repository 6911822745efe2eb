import { type BackoffOptions, backoffDelay, parseRetryAfter } from './backoff.ts';
import type { Message } from './message.ts';
import type { EventQueue } from './queue.ts';
import type { Transport, TransportResponse } from './transport.ts';

export type DropReason = 'queue-full' | 'rejected' | 'too-large' | 'retries-exhausted';

export interface DispatcherOptions {
  transport: Transport;
  queue: EventQueue;
  /** Send as soon as this many messages are queued. */
  flushAt?: number;
  /** Otherwise send this long after the first message was queued. */
  flushInterval?: number;
  /** Messages per request. */
  maxBatchSize?: number;
  /** Bytes of JSON per request (the collector answers 413 above its own limit). */
  maxBatchBytes?: number;
  /** Retries of one batch before it is dropped; Infinity keeps trying (the browser's persistent queue). */
  maxRetries?: number;
  backoff?: BackoffOptions;
  /** Node: do not let the flush timer alone keep the process alive. */
  unrefTimer?: boolean;
  warn?: (message: string) => void;
  onDrop?: (messages: Message[], reason: DropReason) => void;
  random?: () => number;
}

type Outcome = { retry: false } | { retry: true; waitMs: number | undefined };

const OK: Outcome = { retry: false };

/**
 * The delivery loop both SDKs share: batches by size and time, sends one request at a time (so the collector
 * sees events in order and a struggling collector gets one request per client, not a burst), retries
 * 429/5xx/network failures with full-jitter exponential backoff that never undercuts `Retry-After`, and drops
 * with a warning what the collector will never accept (other 4xx). A message leaves the queue only after a
 * 2xx, so delivery is at-least-once; the collector dedupes on messageId, which makes it exactly-once in
 * storage.
 */
export class Dispatcher {
  readonly queue: EventQueue;
  private readonly o: Required<Omit<DispatcherOptions, 'onDrop' | 'warn' | 'unrefTimer'>> & DispatcherOptions;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private draining: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private attempt = 0;
  /** Lowered after a 413 so the next request is smaller; restored after a success. */
  private batchLimit: number;
  /** Messages inside a request that has not answered yet (an unload must not send them a second time). */
  readonly inflight = new Set<string>();

  constructor(options: DispatcherOptions) {
    this.o = {
      flushAt: 20,
      flushInterval: 10_000,
      maxBatchSize: 100,
      maxBatchBytes: 480_000,
      maxRetries: 10,
      backoff: { minMs: 500, maxMs: 30_000 },
      random: Math.random,
      ...options,
    };
    this.queue = options.queue;
    this.batchLimit = this.o.maxBatchSize;
  }

  enqueue(message: Message): void {
    const dropped = this.queue.push(message);
    if (dropped) this.drop([dropped], 'queue-full');
    if (this.queue.size >= this.o.flushAt) void this.flush();
    else this.schedule();
  }

  /** Starts the timer if messages wait and nothing else will send them (after a reload, say). */
  schedule(): void {
    if (this.timer !== undefined || this.draining || this.queue.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.o.flushInterval);
    if (this.o.unrefTimer) (this.timer as { unref?: () => void }).unref?.();
  }

  /**
   * Resolves once the queue is empty: everything was acknowledged or dropped (after `maxRetries`, or by a
   * 4xx). With `maxRetries: Infinity` it waits as long as the collector stays unreachable. The first request
   * starts synchronously, which matters on page hide: the browser only keeps requests started before it
   * freezes the page.
   */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
      this.schedule();
    });
    return this.draining;
  }

  /** Cuts a backoff wait short, e.g. when the browser comes back online. */
  retryNow(): void {
    this.attempt = 0;
    this.wake?.();
  }

  /** Queued messages not in a request yet, in byte-bounded batches (for sendBeacon on unload). */
  pendingBatches(maxBytes: number): Message[][] {
    const pending = this.queue.peek(this.queue.size).filter((m) => !this.inflight.has(m.messageId));
    const batches: Message[][] = [];
    let current: Message[] = [];
    let bytes = 0;
    for (const m of pending) {
      const size = JSON.stringify(m).length + 1;
      if (current.length > 0 && (bytes + size > maxBytes || current.length >= this.o.maxBatchSize)) {
        batches.push(current);
        current = [];
        bytes = 0;
      }
      current.push(m);
      bytes += size;
    }
    if (current.length > 0) batches.push(current);
    return batches;
  }

  private async drain(): Promise<void> {
    while (this.queue.size > 0) {
      const batch = this.nextBatch();
      const outcome = await this.send(batch);
      if (!outcome.retry) {
        this.attempt = 0;
        continue;
      }
      if (this.attempt >= this.o.maxRetries) {
        this.drop(batch, 'retries-exhausted');
        this.queue.remove(batch.map((m) => m.messageId));
        this.attempt = 0;
        continue;
      }
      const jittered = backoffDelay(this.attempt++, this.o.backoff, this.o.random);
      await this.sleep(Math.max(jittered, outcome.waitMs ?? 0));
    }
  }

  private nextBatch(): Message[] {
    const candidates = this.queue.peek(this.batchLimit);
    let bytes = 0;
    let n = 0;
    for (const m of candidates) {
      bytes += JSON.stringify(m).length + 1;
      // The first message always goes, even alone over the limit: the collector's 413 decides its fate.
      if (n > 0 && bytes > this.o.maxBatchBytes) break;
      n++;
    }
    return candidates.slice(0, n);
  }

  private async send(batch: Message[]): Promise<Outcome> {
    const ids = batch.map((m) => m.messageId);
    for (const id of ids) this.inflight.add(id);
    let response: TransportResponse;
    try {
      response = await this.o.transport.send(batch);
    } catch {
      return { retry: true, waitMs: undefined };
    } finally {
      for (const id of ids) this.inflight.delete(id);
    }
    const { status } = response;
    if (status >= 200 && status < 300) {
      this.queue.remove(ids);
      this.batchLimit = this.o.maxBatchSize;
      return OK;
    }
    if (status === 429 || status >= 500) {
      return { retry: true, waitMs: parseRetryAfter(response.retryAfter) };
    }
    if (status === 413 && batch.length > 1) {
      this.batchLimit = Math.max(1, Math.floor(batch.length / 2));
      return OK;
    }
    const rejected = status === 400 && batch.length > 1 ? rejectedIndexes(response.body) : undefined;
    if (rejected && rejected.size > 0) {
      // Drop only the events the collector named; the rest go again (a repeat is deduped by messageId if
      // the collector had stored them).
      const bad = batch.filter((_, i) => rejected.has(i));
      this.drop(bad, 'rejected', status, response.body);
      this.queue.remove(bad.map((m) => m.messageId));
      return OK;
    }
    this.drop(batch, status === 413 ? 'too-large' : 'rejected', status, response.body);
    this.queue.remove(ids);
    return OK;
  }

  private drop(messages: Message[], reason: DropReason, status?: number, body?: string): void {
    this.o.warn?.(
      `tracklane: dropped ${messages.length} event(s): ${reason}${status ? ` (HTTP ${status}${body ? `: ${body.slice(0, 300)}` : ''})` : ''}`,
    );
    this.o.onDrop?.(messages, reason);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}

/** Indexes of events a 400 names, from `{error:{fields:[{path:"/batch/3/event"}]}}`. */
function rejectedIndexes(body: string | undefined): Set<number> | undefined {
  try {
    const fields = (JSON.parse(body ?? '') as { error?: { fields?: { path?: string }[] } }).error?.fields;
    const out = new Set<number>();
    for (const f of fields ?? []) {
      const m = /^\/batch\/(\d+)(\/|$)/.exec(f.path ?? '');
      if (m) out.add(Number(m[1]));
    }
    return out;
  } catch {
    return undefined;
  }
}
