import type { MessageToProduce } from '@platformatic/kafka';

/** Base offset the broker assigned to the batch one send produced for a partition. */
export interface PartitionBase {
  topic: string;
  partition: number;
  offset: bigint;
}

export type SendFn = (messages: MessageToProduce[]) => Promise<PartitionBase[]>;

interface Pending {
  messages: MessageToProduce[];
  resolve(offsets: number[]): void;
  reject(err: unknown): void;
}

/**
 * Appends go to Kafka one produce request at a time, and appends arriving meanwhile share the next request
 * (group commit). One request in flight is what keeps the idempotent producer's per-partition sequence
 * numbers right (the client advances them only when a response arrives), and sharing requests gives large
 * batches under load without adding latency when idle.
 *
 * Offsets: a request carries one record batch per partition, in message order, and the broker returns the
 * batch's base offset, so the i-th message of a partition in the request has offset base + i.
 */
export class SendQueue {
  private readonly queue: Pending[] = [];
  private running = false;

  constructor(
    private readonly send: SendFn,
    private readonly maxMessagesPerRequest = 10_000,
  ) {}

  enqueue(messages: MessageToProduce[]): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ messages, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch: Pending[] = [];
        let count = 0;
        // Always take at least one append, even one larger than the limit: an append is never split.
        while (
          this.queue.length > 0 &&
          (batch.length === 0 || count + this.queue[0]!.messages.length <= this.maxMessagesPerRequest)
        ) {
          const next = this.queue.shift()!;
          batch.push(next);
          count += next.messages.length;
        }
        const messages = batch.length === 1 ? batch[0]!.messages : batch.flatMap((p) => p.messages);
        try {
          const bases = await this.send(messages);
          const offsets = assignOffsets(messages, bases);
          let at = 0;
          for (const p of batch) {
            p.resolve(offsets.slice(at, at + p.messages.length));
            at += p.messages.length;
          }
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
}

/** Offset of every message of one produce request, from the per-partition base offsets. */
export function assignOffsets(
  messages: readonly MessageToProduce[],
  bases: readonly PartitionBase[],
): number[] {
  const next = new Map<string, number>();
  for (const b of bases) next.set(`${b.topic}\u0000${b.partition}`, Number(b.offset));
  const out = new Array<number>(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const key = `${m.topic}\u0000${m.partition}`;
    const offset = next.get(key);
    if (offset === undefined)
      throw new Error(`the broker acknowledged no batch for ${m.topic}/${m.partition}`);
    out[i] = offset;
    next.set(key, offset + 1);
  }
  return out;
}
