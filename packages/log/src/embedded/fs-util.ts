import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TracklaneError } from '@tracklane/core';

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

const NAME = /^[A-Za-z0-9._-]{1,200}$/;

/** Topic and group names become path components, so only a safe alphabet is allowed (no `/`, no `..`). */
export function validateName(kind: 'topic' | 'group', name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name) || name.includes('..') || name === '.') {
    throw new TracklaneError(
      'E_BAD_ARGUMENT',
      `invalid ${kind} name ${JSON.stringify(name)}: use 1-200 characters from A-Z a-z 0-9 . _ - (no "..")`,
    );
  }
}
