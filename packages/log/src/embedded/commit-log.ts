import { writevSync } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from './fs-util.ts';

/*
 * The log-wide commit log: `<dir>/commit-log/<20-digit sequence>.wal`, files of back-to-back entries
 * (commit-log-entry.ts). A multi-partition flush cycle writes each partition's batches to its segment without
 * fdatasync, then one entry per partition here with one writev and ONE fdatasync: the bytes that make those
 * appends durable are the commit log's, until a checkpoint fdatasyncs the segments and deletes the files.
 *
 * Files are written strictly one after another: a file is created only by an append that starts after the
 * previous file's last append finished (with its fdatasync). So only the newest file can end in a torn entry;
 * replay (commit-log-replay.ts) relies on that.
 */

const SYNC_WRITE_MAX = 1 << 20;

export function commitLogFileName(seq: number): string {
  return `${String(seq).padStart(20, '0')}.wal`;
}

export function parseCommitLogFileName(name: string): number | null {
  const m = /^(\d{20})\.wal$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** One commit-log file. Opaque outside this module except for the checkpoint, which hands it back. */
export interface CommitLogFile {
  readonly path: string;
  /** Bytes appended (durable once the append that wrote them resolved). */
  size: number;
  opening: Promise<FileHandle>;
  /** The append in flight on this file, if any: removal waits for it. */
  busy: Promise<void> | null;
}

export class CommitLog {
  readonly dir: string;
  private nextSeq = 0;
  private current: CommitLogFile | null = null;
  private readonly files = new Set<CommitLogFile>();
  private failure: Error | null = null;

  /** `dir` must exist and hold no commit-log files (replay deletes them before the log opens). */
  constructor(dir: string) {
    this.dir = dir;
  }

  /** Bytes in the file appends currently go to. */
  get currentBytes(): number {
    return this.current === null ? 0 : this.current.size;
  }

  /** True while files exist that a checkpoint has not deleted yet. */
  get hasFiles(): boolean {
    return this.files.size > 0;
  }

  /**
   * Writes `buffers` (whole entries) at the end of the current file and fdatasyncs it. After a failure the file's
   * tail is unknown (an entry after garbage would be unreachable to replay), so every later append fails too.
   */
  async append(buffers: Buffer[], bytes: number): Promise<void> {
    if (this.failure) throw this.failure;
    const file = this.current ?? this.openNext();
    const run = this.write(file, buffers, bytes);
    file.busy = run;
    try {
      await run;
    } catch (err) {
      this.failure = err as Error;
      throw err;
    } finally {
      if (file.busy === run) file.busy = null;
    }
  }

  private openNext(): CommitLogFile {
    const path = join(this.dir, commitLogFileName(this.nextSeq++));
    const dir = this.dir;
    const opening = (async () => {
      const fh = await open(path, 'wx');
      // The new name must survive a crash, or replay would never find the entries that made appends durable.
      await fsyncDir(dir);
      return fh;
    })();
    const file: CommitLogFile = { path, size: 0, opening, busy: null };
    // Removal and close await `opening` themselves; this keeps a failed open from being an unhandled rejection
    // before the append that created it gets to await it.
    opening.catch(() => undefined);
    this.current = file;
    this.files.add(file);
    return file;
  }

  private async write(file: CommitLogFile, buffers: Buffer[], bytes: number): Promise<void> {
    const fh = await file.opening;
    const position = file.size;
    // Small writes are copied synchronously: cheaper than the thread-pool round trip (see segment.ts write).
    const written =
      bytes <= SYNC_WRITE_MAX
        ? writevSync(fh.fd, buffers, position)
        : (await fh.writev(buffers, position)).bytesWritten;
    if (written !== bytes) throw new Error(`short write to ${file.path}: ${written} of ${bytes} bytes`);
    file.size += bytes;
    await fh.datasync();
  }

  /** Ends the current file: later appends go to a new one. Returns the files a checkpoint may delete. */
  seal(): CommitLogFile[] {
    const sealed: CommitLogFile[] = [];
    for (const f of this.files) if (f !== this.current) sealed.push(f);
    if (this.current !== null) sealed.push(this.current);
    this.current = null;
    return sealed;
  }

  /**
   * Deletes sealed files. Only call once every segment byte their entries made durable is fdatasynced in its
   * segment (the checkpoint in flush-coordinator.ts).
   */
  async remove(files: readonly CommitLogFile[]): Promise<void> {
    for (const f of files) {
      await f.busy?.catch(() => undefined);
      const fh = await f.opening.catch(() => null);
      await fh?.close();
      try {
        await unlink(f.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      this.files.delete(f);
      if (this.current === f) this.current = null;
    }
    if (files.length > 0) await fsyncDir(this.dir);
  }

  /** Closes the handles of files that remain (kept for replay after a failed checkpoint). */
  async close(): Promise<void> {
    for (const f of this.files) {
      await f.busy?.catch(() => undefined);
      const fh = await f.opening.catch(() => null);
      await fh?.close();
    }
    this.files.clear();
    this.current = null;
    this.failure ??= new Error('the commit log is closed');
  }
}
