import { setImmediate as nextTurn } from 'node:timers/promises';
import type { CommitLog } from './commit-log.ts';
import type { FlushScheduler, Partition, PendingFlush } from './partition.ts';

export interface FlushCoordinatorOptions {
  /** Checkpoint once the current commit-log file holds this many bytes. */
  commitLogBytes: number;
  /** Checkpoint on this interval while any segment holds commit-log-only bytes; 0 disables the timer. */
  checkpointIntervalMs: number;
}

/**
 * Group commit for the whole log: one flush cycle, and at most one fdatasync, for every partition with queued
 * appends, whatever topic it belongs to. An fdatasync costs tens of microseconds of kernel CPU, so fsyncing
 * each partition on its own made the CPU per event grow with the partition count.
 *
 * A cycle with one dirty partition writes and fdatasyncs its segment, as a single-partition log always did,
 * and writes nothing to the commit log. A cycle with several writes each partition's batches to its segment
 * without fsync, then one entry per partition to the commit log with one writev, fdatasyncs that file once,
 * and only then makes the records visible and resolves the appends. A partition whose batches cross a segment
 * boundary syncs its own segment (rolls are rare, and a roll must leave only the active segment unsynced).
 *
 * Cycles run one at a time. The next starts on setImmediate after the previous resolved its appends, so
 * appenders that re-append at once join it instead of splitting into alternating half-sized cycles.
 *
 * Checkpoint (when the commit-log file passes `commitLogBytes`, on the timer, and on close): seal the current
 * file, fdatasync every segment holding commit-log-only bytes, then delete the sealed files. Segment bytes are
 * marked before their entry is written, so every entry of a sealed file is covered by the segment syncs that
 * follow the seal. Once a partition holding commit-log-only bytes failed (its write, its fsync, or the checkpoint's
 * fsync of its segment), no commit-log file is deleted again before a reopen replays them.
 */
export class FlushCoordinator implements FlushScheduler {
  private readonly commitLog: CommitLog;
  private readonly commitLogBytes: number;
  private dirty: Partition[] = [];
  private loop: Promise<void> | null = null;
  /** Partitions that wrote commit-log-only bytes since the last checkpoint took them. */
  private readonly unsynced = new Set<Partition>();
  private checkpointing: Promise<void> | null = null;
  private checkpointAgain = false;
  private keepCommitLog = false;
  private readonly timer: NodeJS.Timeout | null;

  constructor(commitLog: CommitLog, options: FlushCoordinatorOptions) {
    this.commitLog = commitLog;
    this.commitLogBytes = options.commitLogBytes;
    this.timer =
      options.checkpointIntervalMs > 0
        ? setInterval(() => {
            // Also retries deleting files a failed removal left, unless a failed sync made them precious.
            if (this.unsynced.size > 0 || (this.commitLog.hasFiles && !this.keepCommitLog)) {
              this.requestCheckpoint();
            }
          }, options.checkpointIntervalMs)
        : null;
    this.timer?.unref();
  }

  markDirty(partition: Partition): void {
    this.dirty.push(partition);
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    await nextTurn();
    while (this.dirty.length > 0) {
      const partitions = this.dirty;
      this.dirty = [];
      await this.cycle(partitions);
      // Let the continuations of the appends just resolved run (and re-append) before the next cycle.
      if (this.dirty.length > 0) await nextTurn();
    }
    this.loop = null;
  }

  private async cycle(partitions: Partition[]): Promise<void> {
    const pending: PendingFlush[] = [];
    for (let i = 0; i < partitions.length; i++) {
      const p = partitions[i]!.takePending();
      if (p !== null) pending.push(p);
    }
    if (pending.length === 1) {
      await this.writeDirect(pending[0]!);
      return;
    }
    const entries: Buffer[] = [];
    const staged: PendingFlush[] = [];
    let bytes = 0;
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]!;
      const partition = p.partition;
      if (!partition.fitsActiveSegment(p)) {
        await this.writeDirect(p);
        continue;
      }
      try {
        bytes += await partition.writeUnsynced(p, entries);
      } catch (err) {
        partition.fail(err, p);
        continue;
      }
      this.unsynced.add(partition);
      staged.push(p);
    }
    if (staged.length === 0) return;
    try {
      await this.commitLog.append(entries, bytes);
    } catch (err) {
      for (let i = 0; i < staged.length; i++) staged[i]!.partition.fail(err, staged[i]);
      return;
    }
    for (let i = 0; i < staged.length; i++) staged[i]!.partition.publish(staged[i]!);
    if (this.commitLog.currentBytes >= this.commitLogBytes) this.requestCheckpoint();
  }

  private async writeDirect(pending: PendingFlush): Promise<void> {
    const partition = pending.partition;
    try {
      await partition.writeDurably(pending);
    } catch (err) {
      partition.fail(err, pending);
      return;
    }
    partition.complete(pending);
  }

  /** Starts a checkpoint in the background (or another one after the one running). */
  private requestCheckpoint(): void {
    if (this.checkpointing !== null) {
      this.checkpointAgain = true;
      return;
    }
    this.checkpointing = this.checkpointLoop().finally(() => {
      this.checkpointing = null;
    });
  }

  private async checkpointLoop(): Promise<void> {
    do {
      this.checkpointAgain = false;
      await this.checkpoint();
    } while (this.checkpointAgain);
  }

  private async checkpoint(): Promise<void> {
    const sealed = this.commitLog.seal();
    const partitions = [...this.unsynced];
    this.unsynced.clear();
    for (const partition of partitions) {
      // After a failed write or fsync a later fsync can succeed even though the kernel dropped dirty pages, so
      // a failed partition's commit-log entries stay the only trusted copy until replay on reopen.
      if (partition.failed) {
        this.keepCommitLog = true;
        continue;
      }
      try {
        await partition.syncActive();
      } catch (err) {
        // Its commit-log entries are now the only durable copy of acknowledged records: keep every file.
        partition.fail(err);
        this.keepCommitLog = true;
      }
    }
    if (this.keepCommitLog || sealed.length === 0) return;
    try {
      await this.commitLog.remove(sealed);
    } catch {
      // Files left behind are sealed again (and removed) by the next checkpoint; replaying them is harmless,
      // their entries are all covered by synced segments.
    }
  }

  /** Resolves once every append queued so far has been resolved or rejected. */
  async drain(): Promise<void> {
    while (this.loop !== null) await this.loop;
  }

  /**
   * Drains, then checkpoints so a clean shutdown leaves no commit-log file to replay. Call after appends stopped.
   */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.drain();
    while (this.checkpointing !== null) await this.checkpointing;
    if (this.unsynced.size > 0 || this.commitLog.hasFiles) await this.checkpoint();
    await this.commitLog.close();
  }
}
