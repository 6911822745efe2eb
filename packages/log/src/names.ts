import { TracklaneError } from '@tracklane/core';

const NAME = /^[A-Za-z0-9._-]{1,200}$/;

/**
 * The topic and group names every Log accepts, so a deployment can move between logs without renaming.
 * The alphabet is also safe as a path component (no `/`, no `..`) for the embedded log's directories, and a
 * subset of Kafka's legal topic names.
 */
export function validateName(kind: 'topic' | 'group', name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name) || name.includes('..') || name === '.') {
    throw new TracklaneError(
      'E_BAD_ARGUMENT',
      `invalid ${kind} name ${JSON.stringify(name)}: use 1-200 characters from A-Z a-z 0-9 . _ - (no "..")`,
    );
  }
}
