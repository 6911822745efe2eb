import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TracklaneError } from '@tracklane/core';
import { parseCommitLogFileName } from './commit-log.ts';
import { readEntry } from './commit-log-entry.ts';
import { fsyncDir } from './fs-util.ts';
import type { Partition } from './partition.ts';

/**
 * Recovery of the commit log (commit-log.ts), run on open after every partition loaded and truncated its
 * active segment's torn tail: restores the acknowledged records a crash took from the segments' unsynced
 * tails, then deletes the commit-log files so the log starts with none.
 *
 * Files are read oldest first; each entry's records beyond its partition's end are appended to the segment
 * (Partition.replay: it must start exactly at the end, a gap is E_CORRUPT_RECORD). Entries already covered,
 * or for topics and partitions that no longer exist, are skipped.
 *
 * An invalid entry (bad header CRC, bad batch CRC, cut short) in the newest file ends that file: it is the
 * torn write of a cycle that never fdatasynced, so none of its appends were acknowledged, and the bytes after
 * it belong to that same write (a crash may persist its pages in any order). An invalid entry in an older file
 * is corruption: every older file was fdatasynced in full before the next one was created, so the open fails
 * with E_CORRUPT_RECORD naming the file rather than silently dropping what follows.
 */
export async function replayCommitLog(
  dir: string,
  partitionOf: (topic: string, partition: number) => Partition | undefined,
): Promise<void> {
  if ((await mkdir(dir, { recursive: true })) !== undefined) await fsyncDir(dirname(dir));
  const files = (await readdir(dir))
    .map((name) => ({ name, seq: parseCommitLogFileName(name) }))
    .filter((f): f is { name: string; seq: number } => f.seq !== null)
    .sort((a, b) => a.seq - b.seq)
    .map((f) => join(dir, f.name));
  const replayed = new Set<Partition>();
  for (let i = 0; i < files.length; i++) {
    const path = files[i]!;
    const buf = await readFile(path);
    let pos = 0;
    while (pos < buf.length) {
      const entry = readEntry(buf, pos);
      if (entry === null) {
        if (i === files.length - 1) break;
        throw new TracklaneError(
          'E_CORRUPT_RECORD',
          `invalid commit-log entry in ${path} at byte ${pos}, and newer commit-log files exist: acknowledged ` +
            `records may be lost; restore the log directory from a backup`,
        );
      }
      const partition = partitionOf(entry.topic, entry.partition);
      if (partition !== undefined && (await partition.replay(entry, path))) replayed.add(partition);
      pos += entry.length;
    }
  }
  for (const partition of replayed) await partition.syncActive();
  // Newest first: if this is interrupted, the files left are complete older ones, never a torn newest file
  // that the next open would take for corruption once new files follow it.
  for (let i = files.length - 1; i >= 0; i--) await unlink(files[i]!);
  if (files.length > 0) await fsyncDir(dir);
}
