import { MemoryQueue, type Message } from '@tracklane/sdk-core';

/** Remembers this many ids this tab already delivered or dropped, so a merge never resurrects them. */
const GONE_MEMORY = 2000;

/**
 * The queue mirrored to localStorage after every change, so events survive reloads, crashes and offline
 * periods; a new page adopts what the previous one could not deliver. Bounded like its parent (drop oldest).
 *
 * Several tabs share one key. Each save merges: it keeps what other tabs stored (minus what this tab has
 * delivered or dropped) and adds this tab's messages. A tab that loads while another still has events
 * pending may send some of them too; the collector dedupes on messageId, so that costs bandwidth, not
 * correctness.
 */
export class StoredQueue extends MemoryQueue {
  private readonly gone = new Set<string>();

  constructor(
    private readonly key: string,
    capacity: number,
  ) {
    super(capacity);
    for (const m of this.read()) super.push(m);
  }

  override push(message: Message): Message | undefined {
    const dropped = super.push(message);
    if (dropped) this.forget([dropped.messageId]);
    this.save();
    return dropped;
  }

  override remove(messageIds: readonly string[]): void {
    super.remove(messageIds);
    this.forget(messageIds);
    this.save();
  }

  override clear(): void {
    super.clear();
    try {
      localStorage.removeItem(this.key);
    } catch {}
  }

  private forget(ids: readonly string[]): void {
    for (const id of ids) this.gone.add(id);
    for (const id of this.gone) {
      if (this.gone.size <= GONE_MEMORY) break;
      this.gone.delete(id);
    }
  }

  private read(): Message[] {
    try {
      const parsed: unknown = JSON.parse(localStorage.getItem(this.key) ?? '[]');
      return Array.isArray(parsed) ? (parsed as Message[]) : [];
    } catch {
      return [];
    }
  }

  private save(): void {
    const merged = this.read().filter((m) => !this.gone.has(m.messageId) && !this.ids.has(m.messageId));
    for (const m of this.items) merged.push(m);
    try {
      localStorage.setItem(this.key, JSON.stringify(merged.slice(-this.capacity)));
    } catch {
      // Quota exceeded or storage disabled: the in-memory queue still delivers for this page's lifetime.
    }
  }
}
