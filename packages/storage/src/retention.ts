import { TracklaneError } from '@tracklane/core';

/** `deleteRowsBefore` is for derived tables; raw events have bookkeeping of their own (dedup ids, month
 * partitions) that only `deleteEventsBefore` keeps right. */
export function refuseRawEvents(table: string): void {
  if (table === 'events') {
    throw new TracklaneError(
      'E_BAD_ARGUMENT',
      "deleteRowsBefore does not delete raw events: use deleteEventsBefore for table 'events'",
    );
  }
}
