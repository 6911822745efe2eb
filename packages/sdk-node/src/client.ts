import {
  type AliasParams,
  type BackoffOptions,
  createMessage,
  Dispatcher,
  type DropReason,
  type GroupParams,
  type IdentifyParams,
  MemoryQueue,
  type Message,
  type MessageParams,
  type PageParams,
  type ScreenParams,
  type TrackParams,
} from '@tracklane/sdk-core';
import { fetchTransport } from './transport.ts';

export const VERSION = '0.1.0';

export interface TracklaneOptions {
  writeKey: string;
  /** The collector's base URL, e.g. `http://localhost:8080`. */
  host: string;
  /** Send when this many events are queued (default 20). */
  flushAt?: number;
  /** ...or this many ms after the first queued event (default 10 000). */
  flushInterval?: number;
  /** Events per request (default 100). */
  maxBatchSize?: number;
  /**
   * Events held in memory while the collector is slow or down (default 10 000). When full the OLDEST event
   * is dropped (reported through `onDrop` with reason `queue-full`), so memory stays bounded and a recovering
   * collector receives the freshest data.
   */
  maxQueueSize?: number;
  /** Retries of one batch before it is dropped (default 10, ~2.5 min of backoff at the default caps). */
  maxRetries?: number;
  backoff?: BackoffOptions;
  /** A request that has not answered in this long is aborted and retried (default 10 000). */
  timeoutMs?: number;
  onDrop?: (events: Message[], reason: DropReason) => void;
  /** Where warnings go (dropped events); defaults to console.warn. */
  warn?: (message: string) => void;
  /** For tests and custom agents. */
  fetch?: typeof fetch;
}

/**
 * Server-side client. Calls are synchronous and cheap (they queue); delivery happens in the background in
 * batches. Call `close()` on shutdown to deliver what is queued; if you forget, a `beforeExit` hook flushes
 * anyway when the event loop drains (it cannot help on `process.exit()` or a signal).
 */
export class Tracklane {
  private readonly dispatcher: Dispatcher;
  private readonly warn: (message: string) => void;
  private closed = false;
  private readonly onBeforeExit = () => void this.dispatcher.flush();

  constructor(options: TracklaneOptions) {
    if (!options.writeKey) throw new TypeError('Tracklane: writeKey is required');
    if (!/^https?:\/\//.test(options.host ?? '')) {
      throw new TypeError(
        `Tracklane: host must be an http(s) URL such as http://localhost:8080, got ${options.host}`,
      );
    }
    this.warn = options.warn ?? ((m) => console.warn(m));
    this.dispatcher = new Dispatcher({
      transport: fetchTransport(options.host, options.writeKey, options.timeoutMs ?? 10_000, options.fetch),
      queue: new MemoryQueue(options.maxQueueSize ?? 10_000),
      flushAt: options.flushAt ?? 20,
      flushInterval: options.flushInterval ?? 10_000,
      maxBatchSize: options.maxBatchSize ?? 100,
      maxRetries: options.maxRetries ?? 10,
      backoff: options.backoff ?? { minMs: 500, maxMs: 30_000 },
      // The flush timer alone must not keep a CLI or a test process alive; beforeExit covers what it holds.
      unrefTimer: true,
      warn: this.warn,
      onDrop: options.onDrop,
    });
    process.on('beforeExit', this.onBeforeExit);
  }

  /** Each call returns the event's messageId. */
  track(params: TrackParams): string {
    return this.enqueue('track', params);
  }
  page(params: PageParams): string {
    return this.enqueue('page', params);
  }
  screen(params: ScreenParams): string {
    return this.enqueue('screen', params);
  }
  identify(params: IdentifyParams): string {
    return this.enqueue('identify', params);
  }
  group(params: GroupParams): string {
    return this.enqueue('group', params);
  }
  alias(params: AliasParams): string {
    return this.enqueue('alias', params);
  }

  /** Events waiting for delivery (including a batch in flight). */
  get queued(): number {
    return this.dispatcher.queue.size;
  }

  /** Resolves when everything queued so far was delivered, or dropped after retries / a 4xx. */
  flush(): Promise<void> {
    return this.dispatcher.flush();
  }

  /** Flushes, then refuses further events. Await it before the process exits. */
  async close(): Promise<void> {
    this.closed = true;
    await this.dispatcher.flush();
    process.off('beforeExit', this.onBeforeExit);
  }

  private enqueue<T extends Message['type']>(type: T, params: MessageParams<T>): string {
    const p = params as { userId?: string; anonymousId?: string };
    if (!p.userId && !p.anonymousId) {
      // A programming error, surfaced at the call site rather than as a 400 in the background later.
      throw new TypeError(`Tracklane.${type}: userId or anonymousId is required`);
    }
    const message = createMessage(type, params, { name: '@tracklane/node', version: VERSION });
    if (this.closed) {
      this.warn(`tracklane: ${type} called after close(); event dropped`);
      return message.messageId;
    }
    this.dispatcher.enqueue(message);
    return message.messageId;
  }
}
