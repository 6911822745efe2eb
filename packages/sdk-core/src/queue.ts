import type { Message } from './message.ts';

/**
 * Where undelivered messages wait. Messages leave only when the collector acknowledged them (`remove` after
 * a 2xx) or when the bound forces it, so that a crash or failed request never loses what was accepted.
 */
export interface EventQueue {
  readonly size: number;
  /** The oldest `max` messages, still queued. */
  peek(max: number): Message[];
  /**
   * Adds a message. A messageId already queued is ignored (so re-adding after a reload or a retry never
   * duplicates). When full, the OLDEST message is dropped and returned: recent behaviour is worth more than
   * old, and a client that has been offline for long enough to fill the queue has already lost the
   * oldest context.
   */
  push(message: Message): Message | undefined;
  remove(messageIds: readonly string[]): void;
  clear(): void;
}

export class MemoryQueue implements EventQueue {
  protected items: Message[] = [];
  protected ids = new Set<string>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length;
  }

  peek(max: number): Message[] {
    return this.items.slice(0, max);
  }

  push(message: Message): Message | undefined {
    if (this.ids.has(message.messageId)) return undefined;
    this.items.push(message);
    this.ids.add(message.messageId);
    if (this.items.length <= this.capacity) return undefined;
    const dropped = this.items.shift()!;
    this.ids.delete(dropped.messageId);
    return dropped;
  }

  remove(messageIds: readonly string[]): void {
    const gone = new Set(messageIds);
    this.items = this.items.filter((m) => !gone.has(m.messageId));
    for (const id of messageIds) this.ids.delete(id);
  }

  clear(): void {
    this.items = [];
    this.ids.clear();
  }
}
