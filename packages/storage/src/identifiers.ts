import { TracklaneError } from '@tracklane/core';

export const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Table and column names come from code, never from users, but are still checked: they are spliced into
 * DDL, where parameters cannot be bound. */
export function quoteIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new TracklaneError(
      'E_BAD_ARGUMENT',
      `invalid identifier '${name}': use lower-case letters, digits, _`,
    );
  }
  return `"${name}"`;
}
