import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Makes created/renamed/deleted directory entries durable: without it a crash can lose a new file's name. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Replaces `path` so that after a crash it holds either the old or the new content, never a mix: write a
 * temporary file, fsync it, rename over the target, fsync the directory.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}
