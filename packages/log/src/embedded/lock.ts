import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TracklaneError } from '@tracklane/core';

export const LOCK_FILE = 'LOCK';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else; only ESRCH means it is gone.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function readOwner(path: string): Promise<number | null> {
  try {
    const pid = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * The data-dir lock: a `LOCK` file created exclusively and holding the owner's pid. Two EmbeddedLogs on one
 * directory would interleave writes and corrupt segments, so a second open (in this or another process)
 * fails with E_LOG_LOCKED. A lock whose pid no longer runs was left by a crash (kill -9) and is taken over.
 * Pid reuse can make a stale lock look live; the message tells the operator which file to remove.
 */
export class DirLock {
  private constructor(private readonly path: string) {}

  static async acquire(dir: string): Promise<DirLock> {
    const path = join(dir, LOCK_FILE);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const fh = await open(path, 'wx');
        try {
          await fh.writeFile(`${process.pid}\n`);
          await fh.sync();
        } finally {
          await fh.close();
        }
        return new DirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = await readOwner(path);
      if (owner !== null && isAlive(owner)) {
        throw new TracklaneError(
          'E_LOG_LOCKED',
          `${dir} is in use by process ${owner}${owner === process.pid ? ' (this process)' : ''}; ` +
            `close that log first, or remove ${path} if that process is not a Tracklane log`,
        );
      }
      if (owner === null) {
        // Just created by another opener that has not written its pid yet, or truncated by a crash: give the
        // writer a moment before treating it as stale.
        await new Promise((r) => setTimeout(r, 20));
        if ((await readOwner(path)) !== null) continue;
      }
      await unlink(path).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
    throw new TracklaneError('E_LOG_LOCKED', `could not acquire ${path}: another process keeps taking it`);
  }

  async release(): Promise<void> {
    if ((await readOwner(this.path)) === process.pid) await unlink(this.path);
  }
}
