import { debuglog } from 'node:util';
import type { ConsumerMessages, JetStreamClient } from '@nats-io/jetstream';
import type { LogRecord } from '@tracklane/log';
import { decodeRecord } from './record-codec.ts';
import { isTransient } from './transient.ts';

/** `NODE_DEBUG=tracklane-nats` traces feed restarts and group changes (see docs/scaling-out.md). */
const debug = debuglog('tracklane-nats');

/** How many records a feed holds before it stops pulling; bounds a consumer's memory per partition. */
const HIGH_WATER = 1024;
const PULL_BATCH = 256;
/**
 * Lifetime of each pull request. The server sends an idle heartbeat every half of it while the request
 * waits, so a live consumer is never silent for longer than that.
 */
const PULL_EXPIRES_MS = 4_000;
/**
 * A consumer silent this long (no record, no heartbeat) is abandoned and a new one is created at our own
 * cursor: three missed heartbeats. See `watchdog()` for why the client's own recovery is not enough.
 */
export const FEED_SILENCE_MS = 3 * (PULL_EXPIRES_MS / 2);
const MAX_BACKOFF_MS = 2_000;
/** Records read by sequence per get batch, and per pause between consumers. */
const FALLBACK_BATCH = 64;
const FALLBACK_MAX = 512;

/**
 * Streams one partition to a group member through an ordered consumer (ephemeral, R1, memory, no acks: the
 * group's progress lives in committed offsets, not in JetStream acks). The server pushes records as they are
 * stored, so a waiting poll wakes without polling the stream.
 *
 * Liveness is ours, not the client's: an ordered consumer is R1, so it lives on one node, and when that node
 * dies the client's recovery can wait forever (it re-checks the consumer with `consumer.info()` in a loop
 * that only a "consumer not found" answer breaks, and a consumer on a dead node gets timeouts instead; a
 * reset whose create keeps failing also stops the heartbeat monitor). So the feed keeps its own cursor,
 * and recreates the consumer there (the server places the new one on a live node) whenever the current one
 * is silent for FEED_SILENCE_MS, ends, or fails transiently; it retries for as long as it is running.
 */
export class PartitionFeed {
  private readonly buffer: LogRecord[] = [];
  private head = 0;
  /** Value bytes of the records not yet taken. */
  private bufferedBytes = 0;
  private messages: ConsumerMessages | null = null;
  private stopped = false;
  private drained: (() => void) | null = null;
  /** Offset after the last record ever delivered (kept when the buffer empties). */
  private next: number;
  /** When the current consumer last showed it is alive (a record or a heartbeat), or was created. */
  private lastSignal = Date.now();
  /** When the current consumer last delivered a record, or was created. */
  private lastRecord = Date.now();
  /**
   * The burst flush scheduled by the first record of a burst; see `flush()`. The consumer is recreated after
   * consecutive failures with a growing pause, and a delivered burst resets that count.
   */
  private flushing: NodeJS.Immediate | null = null;
  private failures = 0;
  /** Whether the burst being flushed delivered a new record (not only repeats of ones we had). */
  private delivered = false;
  /** When the stream was last seen holding records past `next` while none arrived; 0 when not. */
  private behindSince = 0;
  private checking = false;
  private readonly watchdogTimer: NodeJS.Timeout;
  /** Set when the feed failed for good; the next take() reports it. */
  failure: unknown = null;

  constructor(
    private readonly js: JetStreamClient,
    private readonly stream: string,
    readonly topic: string,
    readonly partition: number,
    /** First offset to deliver; the server starts at the oldest retained record if this one is gone. */
    from: number,
    private readonly onData: () => void,
    /** The partition's end offset, from the stream leader. */
    private readonly end: () => Promise<number>,
    /** Up to `count` records from offset `from` by sequence (a get each, from the stream leader). */
    private readonly readBySequence: (from: number, count: number) => Promise<LogRecord[]>,
  ) {
    this.next = from;
    this.watchdogTimer = setInterval(() => this.watchdog(), Math.floor(FEED_SILENCE_MS / 3));
    this.watchdogTimer.unref();
    void this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const from = this.next;
      try {
        await this.consumeFrom(from);
        if (this.stopped) return;
        debug('feed %s: consumer from %d ended; recreating at %d', this.stream, from, this.next);
      } catch (err) {
        if (this.stopped) return;
        if (!isTransient(err)) {
          debug('feed %s: failed for good: %s', this.stream, err);
          this.failure = err;
          this.onData();
          return;
        }
        debug('feed %s: consumer from %d failed (%s); recreating at %d', this.stream, from, err, this.next);
      }
      this.failures++;
      await this.catchUpBySequence().catch((err: unknown) => {
        debug('feed %s: cannot read by sequence either: %s', this.stream, err);
      });
      await new Promise((r) => setTimeout(r, Math.min(MAX_BACKOFF_MS, this.failures * 100)));
    }
  }

  /**
   * Between consumers, reads what the stream holds past our cursor by sequence. Creating a consumer needs
   * the cluster's meta leader and a live peer for it, and after a node loss that failed for over 30 s in
   * one run of 16 while the partition's own stream was fine; a get by sequence needs only the stream's
   * leader. Bounded per call, so a new consumer is tried again soon.
   */
  private async catchUpBySequence(): Promise<void> {
    if (this.stopped || this.available >= HIGH_WATER) return;
    const end = await this.end();
    const first = this.next;
    while (
      !this.stopped &&
      this.next < end &&
      this.next - first < FALLBACK_MAX &&
      this.available < HIGH_WATER
    ) {
      const records = await this.readBySequence(this.next, Math.min(FALLBACK_BATCH, end - this.next));
      if (this.stopped || records.length === 0) break;
      for (const r of records) {
        if (r.offset < this.next) continue;
        this.buffer.push(r);
        this.bufferedBytes += r.value.length;
        this.next = r.offset + 1;
      }
      this.onData();
    }
    if (this.next > first) debug('feed %s: read %d..%d by sequence', this.stream, first, this.next - 1);
  }

  /**
   * Abandons a consumer that is silent (no record and no heartbeat: its node is gone or the client's own
   * recovery is stuck), or that heartbeats but delivers nothing while the stream holds records past our
   * cursor (seen after a node loss: a consumer recreated by the client that never caught up). consumeFrom's
   * loop then ends and run() creates a new consumer at our cursor.
   */
  private watchdog(): void {
    if (this.stopped || !this.messages || this.checking) return;
    const now = Date.now();
    // While the buffer is full the loop below is parked, so records are not counted: not a silence.
    if (this.drained) {
      this.lastSignal = now;
      this.lastRecord = now;
      this.behindSince = 0;
      return;
    }
    if (now - this.lastSignal >= FEED_SILENCE_MS) {
      this.restart(`silent for ${now - this.lastSignal} ms`);
      return;
    }
    if (now - this.lastRecord < FEED_SILENCE_MS) return;
    // Asked twice, a tick apart, so that records appended a moment ago and still on their way do not count.
    if (this.behindSince > 0 && this.lastRecord < this.behindSince) {
      this.restart(`no record for ${now - this.lastRecord} ms though the stream has more`);
      return;
    }
    const messages = this.messages;
    this.checking = true;
    this.end()
      .then((end) => {
        if (this.messages !== messages) return;
        if (end > this.next) {
          this.behindSince = Date.now();
        } else {
          // Nothing to deliver: an idle partition. Ask again after another quiet period.
          this.behindSince = 0;
          this.lastRecord = Date.now();
        }
      })
      .catch(() => undefined)
      .finally(() => {
        this.checking = false;
      });
  }

  private restart(why: string): void {
    debug('feed %s: consumer %s at offset %d; recreating it', this.stream, why, this.next);
    this.abandon();
  }

  private abandon(): void {
    const messages = this.messages;
    this.messages = null;
    void messages?.close().catch(() => undefined);
  }

  private async consumeFrom(from: number): Promise<void> {
    this.lastSignal = Date.now();
    this.lastRecord = this.lastSignal;
    this.behindSince = 0;
    const consumer = await this.js.consumers.get(this.stream, { opt_start_seq: from + 1 });
    if (this.stopped) {
      await consumer.delete().catch(() => undefined);
      return;
    }
    this.lastSignal = Date.now();
    this.lastRecord = this.lastSignal;
    const info = await consumer.info(true);
    debug('feed %s: consumer %s from %d on %s', this.stream, info.name, from, info.cluster?.leader);
    const messages = await consumer.consume({ max_messages: PULL_BATCH, expires: PULL_EXPIRES_MS });
    this.messages = messages;
    // stop() during the awaits above had nothing to close yet; the loop below would then wait forever.
    if (this.stopped) this.abandon();
    void (async () => {
      for await (const s of messages.status()) {
        if (s.type === 'heartbeat') this.lastSignal = Date.now();
        else if (s.type !== 'next' && s.type !== 'discard' && s.type !== 'debug')
          debug('feed %s: %j', this.stream, s);
      }
    })().catch(() => undefined);
    try {
      // The iterator's pull requests are queued behind the messages it yields, so not iterating (parked at
      // HIGH_WATER below) stops pulling: that is this feed's flow control, and why it is not a callback.
      for await (const m of messages) {
        if (this.stopped || this.messages !== messages) break;
        if (this.flushing === null) this.flushing = setImmediate(this.flush);
        const offset = m.seq - 1;
        // The ordered consumer never goes back, but a consumer recreated at our cursor must not repeat.
        if (offset < this.next) continue;
        const record = decodeRecord(this.topic, this.partition, offset, m.data);
        this.buffer.push(record);
        this.bufferedBytes += record.value.length;
        this.next = offset + 1;
        this.delivered = true;
        if (this.buffer.length - this.head >= HIGH_WATER) {
          await new Promise<void>((resolve) => {
            this.drained = resolve;
          });
        }
      }
    } finally {
      if (this.messages === messages) this.messages = null;
      void messages.close().catch(() => undefined);
      // Ephemeral: deleting it now rather than after its inactivity timeout keeps the server's consumer
      // count flat across restarts, rebalances and seeks (on a dead node this fails; the node drops it).
      void consumer.delete().catch(() => undefined);
    }
  }

  /**
   * Runs once per burst of messages, after the client has yielded every message of the socket reads that
   * brought it (they are iterated in microtasks; this runs after them, in the same event-loop turn): the
   * liveness clocks and the poll's wake-up are per burst, not per record, so that a poll returns the whole
   * burst rather than the first record of it, and no record pays for a clock read.
   */
  private readonly flush = (): void => {
    this.flushing = null;
    if (this.stopped) return;
    this.lastSignal = Date.now();
    this.lastRecord = this.lastSignal;
    if (this.delivered) this.failures = 0;
    this.delivered = false;
    this.onData();
  };

  get available(): number {
    return this.buffer.length - this.head;
  }

  /** Moves up to `max` records (and at least one if any, whatever its size) into `out`; returns their bytes. */
  take(out: LogRecord[], max: number, bytesLeft: number): number {
    if (this.failure) throw this.failure;
    let bytes = 0;
    const buffer = this.buffer;
    if (this.bufferedBytes < bytesLeft && buffer.length - this.head <= max - out.length) {
      // All of it fits (the usual case): moved without reading each record again; the reader is about to.
      for (let i = this.head; i < buffer.length; i++) out.push(buffer[i]!);
      this.head = buffer.length;
      bytes = this.bufferedBytes;
    }
    while (this.head < buffer.length && out.length < max) {
      const r = buffer[this.head]!;
      const size = r.value.length;
      // Counted only once taken: the count is what leaves the buffer (and what the poll has left to give).
      if (bytes + size > bytesLeft && bytes > 0) break;
      bytes += size;
      out.push(r);
      this.head++;
      if (bytes >= bytesLeft) break;
    }
    this.bufferedBytes -= bytes;
    if (this.head === this.buffer.length) {
      this.buffer.length = 0;
      this.head = 0;
    } else if (this.head > HIGH_WATER) {
      this.buffer.splice(0, this.head);
      this.head = 0;
    }
    if (this.drained && this.available < HIGH_WATER / 2) {
      const resume = this.drained;
      this.drained = null;
      resume();
    }
    return bytes;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.watchdogTimer);
    if (this.flushing !== null) clearImmediate(this.flushing);
    this.flushing = null;
    this.drained?.();
    this.drained = null;
    this.abandon();
  }
}
