import {
  type BackoffOptions,
  createMessage,
  Dispatcher,
  type EventQueue,
  MemoryQueue,
  type Message,
  type MessageParams,
  uuid,
} from '@tracklane/sdk-core';
import { type KV, memoryKV, openKV, type Persistence } from './storage.ts';
import { type BrowserTransport, browserTransport, KEEPALIVE_BYTES } from './transport.ts';

export const VERSION = '0.1.0';

type Props = Record<string, unknown>;
export type Consent = 'pending' | 'granted' | 'denied';

export interface AutocaptureOptions {
  /** Page views on load and on SPA navigation (history API, hash changes). Default on. */
  pageviews?: boolean;
  /** Clicks on `[data-track]`, links and buttons. Default on. */
  clicks?: boolean;
  /** Form submits (never field values). Default on. */
  forms?: boolean;
  /** LCP, CLS, INP, FCP, TTFB as one `Web Vitals` event when the page hides. Default off. */
  webVitals?: boolean;
}

export interface BrowserOptions {
  writeKey: string;
  /** Collector base URL; defaults to the page's own origin. */
  host?: string;
  /**
   * Where the anonymous id, user id and session live: `localStorage` (default), `cookie` (first-party,
   * shareable across subdomains with `cookieDomain`), or `memory` (cookieless: nothing is written to the
   * device, every page load is a new anonymous visitor, and the queue does not survive reloads). With
   * `localStorage` and `cookie` the undelivered-event queue (full build) lives in localStorage.
   */
  persistence?: Persistence;
  cookieDomain?: string;
  /**
   * `pending` holds events in memory and writes nothing to the device until `setConsent('granted')`;
   * `denied` drops events and erases what was stored. Default `granted`. The site's consent manager owns
   * the decision: pass it on every page load.
   */
  consent?: Consent;
  /** Treat Do-Not-Track and Global Privacy Control signals as consent `denied`. Default false. */
  respectDnt?: boolean;
  /** Send when this many events are queued (default 10)... */
  flushAt?: number;
  /** ...or this many ms after the first (default 2000). */
  flushInterval?: number;
  /** Undelivered events kept (default 500); when full the oldest are dropped. */
  maxQueueSize?: number;
  /** Retry waits; retries never stop in the browser, the bounded queue is the limit. */
  retry?: BackoffOptions;
  /** A session ends after this much inactivity (default 30 min). */
  sessionTimeout?: number;
  /** Full build only: autocapture switches, or false for none. */
  autocapture?: boolean | AutocaptureOptions;
  /** Log warnings (dropped events) to the console. */
  debug?: boolean;
}

/** What an extension (autocapture, persistence) gets from the client. */
export interface Extensions {
  queue?: (key: string, capacity: number) => EventQueue;
  plugins?: ((client: Client) => void)[];
}

const AID = 'tl_aid';
const UID = 'tl_uid';
const SESSION = 'tl_session';

export class Client {
  readonly options: BrowserOptions;
  private consent: Consent;
  private kv: KV;
  private dispatcher: Dispatcher | undefined;
  private readonly transport: BrowserTransport;
  private held: Message[] = [];
  private anonymousId = '';
  private userId: string | null = null;
  private unloading = false;

  constructor(
    options: BrowserOptions,
    private readonly ext: Extensions = {},
  ) {
    this.options = options;
    const signal = navigator as { doNotTrack?: string | null; globalPrivacyControl?: boolean };
    this.consent =
      options.respectDnt && (signal.doNotTrack === '1' || signal.globalPrivacyControl === true)
        ? 'denied'
        : (options.consent ?? 'granted');
    this.transport = browserTransport(options.host ?? location.origin, options.writeKey);
    this.kv =
      this.consent === 'granted'
        ? openKV(options.persistence ?? 'localStorage', options.cookieDomain)
        : memoryKV();
    this.loadIdentity();
    if (this.consent === 'granted') this.start();
    else if (this.consent === 'denied') this.erase();

    addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden' && !this.unloading) void this.dispatcher?.flush();
    });
    addEventListener('pagehide', () => this.unload());
    // A page restored from the back/forward cache is alive again.
    addEventListener('pageshow', () => {
      this.unloading = false;
    });
    addEventListener('online', () => {
      this.dispatcher?.retryNow();
      void this.dispatcher?.flush();
    });
    for (const plugin of ext.plugins ?? []) plugin(this);
  }

  track(event: string, properties?: Props): void {
    this.send('track', { event, properties });
  }

  /** Page properties (url, path, title, referrer, search) are filled in; `properties` override them. */
  page(name?: string, properties?: Props): void {
    this.send('page', { name, properties: { ...pageInfo(), ...properties } });
  }

  identify(userId?: string | null, traits?: Props): void {
    if (userId) {
      this.userId = userId;
      this.kv.set(UID, userId);
    }
    this.send('identify', { traits });
  }

  group(groupId: string, traits?: Props): void {
    this.send('group', { groupId, traits });
  }

  /** Links `previousId` (default: the current user or anonymous id) to `userId`, then becomes `userId`. */
  alias(userId: string, previousId?: string): void {
    this.send('alias', { userId, previousId: previousId ?? this.userId ?? this.anonymousId });
    this.userId = userId;
    this.kv.set(UID, userId);
  }

  /** Logout: forget the user, start a new anonymous id and session. Queued events keep their ids. */
  reset(): void {
    this.userId = null;
    this.kv.del(UID);
    this.kv.del(SESSION);
    this.anonymousId = uuid();
    this.kv.set(AID, this.anonymousId);
  }

  flush(): Promise<void> {
    return this.dispatcher?.flush() ?? Promise.resolve();
  }

  setConsent(consent: Consent): void {
    this.consent = consent;
    if (consent === 'granted') {
      // Move the identity chosen while pending onto the device, then release the held events.
      const pendingKV = this.kv;
      this.kv = openKV(this.options.persistence ?? 'localStorage', this.options.cookieDomain);
      for (const k of [AID, UID, SESSION]) {
        const v = pendingKV.get(k);
        if (v !== null) this.kv.set(k, v);
      }
      this.start();
      for (const m of this.held) this.dispatcher!.enqueue(m);
      this.held = [];
    } else if (consent === 'denied') {
      this.held = [];
      this.dispatcher?.queue.clear();
      this.erase();
      this.kv = memoryKV();
      this.loadIdentity();
    }
  }

  /** Removes everything this SDK ever wrote to the device, including what an earlier visit left. */
  private erase(): void {
    const kv = openKV(this.options.persistence ?? 'localStorage', this.options.cookieDomain);
    for (const k of [AID, UID, SESSION]) kv.del(k);
    try {
      localStorage.removeItem(this.queueKey());
    } catch {}
  }

  private queueKey(): string {
    return `tl_queue_${this.options.writeKey}`;
  }

  getConsent(): Consent {
    return this.consent;
  }

  user(): { anonymousId: string; userId: string | null; sessionId: string } {
    return { anonymousId: this.anonymousId, userId: this.userId, sessionId: this.session(false) };
  }

  private start(): void {
    if (this.dispatcher) return;
    const capacity = this.options.maxQueueSize ?? 500;
    const persisted = (this.options.persistence ?? 'localStorage') !== 'memory' && this.ext.queue;
    const debug = this.options.debug;
    this.dispatcher = new Dispatcher({
      transport: this.transport,
      queue: persisted ? this.ext.queue!(this.queueKey(), capacity) : new MemoryQueue(capacity),
      flushAt: this.options.flushAt ?? 10,
      flushInterval: this.options.flushInterval ?? 2000,
      maxBatchBytes: KEEPALIVE_BYTES,
      maxRetries: Number.POSITIVE_INFINITY,
      backoff: this.options.retry ?? { minMs: 1000, maxMs: 60_000 },
      warn: debug ? (m) => console.warn(m) : undefined,
    });
    // Events a previous page left behind go out without waiting for a new one.
    this.dispatcher.schedule();
  }

  private loadIdentity(): void {
    this.anonymousId = this.kv.get(AID) ?? uuid();
    this.kv.set(AID, this.anonymousId);
    this.userId = this.kv.get(UID);
  }

  /** The session id, renewed after `sessionTimeout` of inactivity; `touch` marks activity. */
  private session(touch = true): string {
    const now = Date.now();
    const [id, last] = (this.kv.get(SESSION) ?? '').split('.');
    const fresh = id && now - Number(last) < (this.options.sessionTimeout ?? 1_800_000) ? id : uuid();
    if (touch || fresh !== id) this.kv.set(SESSION, `${fresh}.${now}`);
    return fresh;
  }

  private send<T extends Message['type']>(type: T, fields: Record<string, unknown>): void {
    if (this.consent === 'denied') return;
    const message = createMessage(
      type,
      {
        anonymousId: this.anonymousId,
        ...(this.userId ? { userId: this.userId } : {}),
        ...fields,
        context: {
          page: pageInfo(),
          userAgent: navigator.userAgent,
          locale: navigator.language,
          timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
          screen: { width: screen.width, height: screen.height },
          sessionId: this.session(),
        },
      } as unknown as MessageParams<T>,
      { name: '@tracklane/browser', version: VERSION },
    );
    if (this.dispatcher) this.dispatcher.enqueue(message);
    else if (this.held.push(message) > (this.options.maxQueueSize ?? 500)) this.held.shift();
  }

  /**
   * The page is going away (navigation, tab close, or entering the back/forward cache). Whatever is not
   * already in a keepalive request goes by sendBeacon. It stays in the stored queue until a 2xx is seen,
   * so the next page resends it if the beacon was lost; the collector's messageId dedupe absorbs the repeat.
   */
  private unload(): void {
    this.unloading = true;
    const d = this.dispatcher;
    if (!d) return;
    for (const batch of d.pendingBatches(KEEPALIVE_BYTES)) if (!this.transport.beacon(batch)) break;
  }
}

function pageInfo(): Props {
  return {
    path: location.pathname,
    referrer: document.referrer,
    search: location.search,
    title: document.title,
    url: location.href,
  };
}
