import type { Consumer, ConsumerMessages, JetStreamClient } from '@nats-io/jetstream';
import type { LogRecord } from '@tracklane/log';
import { decodeRecord } from './record-codec.ts';
import { isTransient } from './transient.ts';

/** How many records a feed holds before it stops pulling; bounds a consumer's memory per partition. */
const HIGH_WATER = 1024;
const PULL_BATCH = 256;
const MAX_RESTARTS = 30;

/**
 * Streams one partition to a group member through an ordered consumer (ephemeral, R1, memory, no acks: the
 * group's progress lives in committed offsets, not in JetStream acks). The server pushes records as they are
 * stored, so a waiting poll wakes without polling the stream. The ordered consumer recreates itself at the
 * next sequence after a gap or a leader change, which keeps records in offset order.
 */
export class PartitionFeed {
  private readonly buffer: LogRecord[] = [];
  private head = 0;
  private messages: ConsumerMessages | null = null;
  private consumer: Consumer | null = null;
  private stopped = false;
  private drained: (() => void) | null = null;
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
  ) {
    void this.run(from);
  }

  /**
   * Restarts after transient failures (a leader election after a node loss), from the record after the last
   * one buffered, so nothing is skipped or repeated; gives up after MAX_RESTARTS failures in a row.
   */
  private async run(from: number): Promise<void> {
    let next = from;
    for (let failures = 0; !this.stopped; ) {
      try {
        await this.consumeFrom(next, () => {
          failures = 0;
        });
        if (this.stopped) return;
        // The iterator ended without an error (e.g. the server dropped the consumer): restart like a failure.
        if (++failures > MAX_RESTARTS) {
          this.failure = new Error(`the feed of ${this.stream} kept ending`);
          this.onData();
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(1000, failures * 100)));
      } catch (err) {
        if (this.stopped) return;
        if (!isTransient(err) || ++failures > MAX_RESTARTS) {
          this.failure = err;
          this.onData();
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(1000, failures * 100)));
      }
      const last = this.buffer[this.buffer.length - 1];
      if (last) next = Math.max(next, last.offset + 1);
      else next = Math.max(next, this.delivered);
    }
  }

  /** Offset after the last record ever delivered (kept when the buffer empties). */
  private delivered = 0;

  private async consumeFrom(from: number, onProgress: () => void): Promise<void> {
    const consumer = await this.js.consumers.get(this.stream, { opt_start_seq: from + 1 });
    if (this.stopped) {
      await consumer.delete().catch(() => undefined);
      return;
    }
    this.consumer = consumer;
    const messages = await consumer.consume({ max_messages: PULL_BATCH });
    this.messages = messages;
    for await (const m of messages) {
      if (this.stopped) break;
      const offset = m.seq - 1;
      this.buffer.push(decodeRecord(this.topic, this.partition, offset, m.data));
      this.delivered = offset + 1;
      onProgress();
      this.onData();
      if (this.buffer.length - this.head >= HIGH_WATER) {
        await new Promise<void>((resolve) => {
          this.drained = resolve;
        });
      }
    }
  }

  get available(): number {
    return this.buffer.length - this.head;
  }

  /** Moves up to `max` records (and at least one if any, whatever its size) into `out`. */
  take(out: LogRecord[], max: number, bytesLeft: number): number {
    if (this.failure) throw this.failure;
    let bytes = 0;
    while (this.head < this.buffer.length && out.length < max) {
      const r = this.buffer[this.head]!;
      bytes += r.value.length;
      if (bytes > bytesLeft && bytes !== r.value.length) break;
      out.push(r);
      this.head++;
      if (bytes >= bytesLeft) break;
    }
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
    this.drained?.();
    this.drained = null;
    void this.messages?.close().catch(() => undefined);
    // The ordered consumer is ephemeral; deleting it now rather than after its inactivity timeout keeps
    // the server's consumer count flat across rebalances and seeks.
    void this.consumer?.delete().catch(() => undefined);
  }
}
