import type { TrackedEvent } from '@tracklane/core';

/** Most ids remembered as linked before the memory starts over (about 100 bytes each). */
const LINKED_CAPACITY = 100_000;

/**
 * What the embedded store's writer knows about ids without asking DuckDB: every erased id, and ids already
 * linked to a person. DuckDB's file lock makes one store the only writer of its file, so this follows every
 * change as the store makes it.
 *
 * It spares `insertEvents` statements that do nothing for most batches: with no erased id among a batch's
 * events the tombstone extension and the tombstone filters are skipped, and with no id that still needs
 * linking the identity-link statements are. Each statement costs milliseconds whatever the batch size (a
 * batch of 10 events took ~25 ms of CPU), which is what a writer keeping up with a steady stream pays per
 * event.
 *
 * Both sets may hold more than the tables (an id whose erasure rolled back): that only keeps the full
 * statements running. `linked` must never hold an id the table does not link, so it learns ids only after
 * their batch committed and is emptied when identities are deleted.
 */
export class KnownIds {
  readonly #tombstoned = new Set<string>();
  #linked = new Set<string>();

  addTombstoned(ids: Iterable<string>): void {
    for (const id of ids) this.#tombstoned.add(id);
  }

  /** Whether any id of these events is erased (their batch then needs the tombstone statements). */
  touchesTombstoned(events: readonly TrackedEvent[]): boolean {
    if (this.#tombstoned.size === 0) return false;
    for (const e of events) {
      if (this.#isTombstoned(e.userId) || this.#isTombstoned(e.anonymousId)) return true;
      if (this.#isTombstoned((e as { previousId?: string }).previousId)) return true;
    }
    return false;
  }

  /**
   * After a batch that touched erased ids committed: the ids its erased users' events revealed, which the
   * store has just tombstoned too (see DuckDbStore#extendTombstones).
   */
  learnRevealed(events: readonly TrackedEvent[]): void {
    for (const e of events) {
      if (!this.#isTombstoned(e.userId)) continue;
      if (e.anonymousId) this.#tombstoned.add(e.anonymousId);
      const previous = (e as { previousId?: string }).previousId;
      if (previous) this.#tombstoned.add(previous);
    }
  }

  /**
   * The ids these events would link (identify: anonymous id -> user id; alias: previous id -> user id,
   * as storeIdentityLinks reads them) that are not known to be linked already. Empty: the batch links
   * nothing new, because an id that is linked stays with its first person.
   */
  unlinked(events: readonly TrackedEvent[]): string[] {
    const out: string[] = [];
    for (const e of events) {
      const user = e.userId;
      if (!user) continue;
      const anonymous = e.anonymousId;
      if (anonymous && anonymous !== user && !this.#linked.has(anonymous)) out.push(anonymous);
      const previous = (e as { previousId?: string }).previousId;
      if (e.type === 'alias' && previous && previous !== user && !this.#linked.has(previous)) {
        out.push(previous);
      }
    }
    return out;
  }

  /** Ids whose links committed (linked now, or already linked before: either way settled). */
  addLinked(ids: readonly string[]): void {
    if (this.#linked.size + ids.length > LINKED_CAPACITY) this.#linked = new Set();
    for (const id of ids) this.#linked.add(id);
  }

  /** After identities rows were deleted (erasure, retention): nothing is known linked any more. */
  forgetLinked(): void {
    this.#linked = new Set();
  }

  #isTombstoned(id: string | undefined | null): boolean {
    return id !== undefined && id !== null && this.#tombstoned.has(id);
  }
}
