import { TracklaneError } from '@tracklane/core';

/** Every Log's consumers take the same offsets for `commit` and `seek`: a non-negative safe integer. */
export function assertConsumerOffset(use: 'commit' | 'seek', offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new TracklaneError('E_BAD_ARGUMENT', `${use} offset must be a non-negative integer, got ${offset}`);
  }
}
