import { isTracklaneError } from '@tracklane/core';
import type { Log } from '@tracklane/log';
import type { Erasure, Store } from '@tracklane/storage';

/** Durable record of every erasure, kept beside the events it cancels: a store rebuilt from the log applies
 * these first, so replaying `events` cannot bring an erased person back. */
export const ERASURES_TOPIC = 'erasures';

export interface ErasureRecord {
  userId: string;
  ids: string[];
  at: number;
}

/** Erases a person from the store, then appends the tombstone (with every id the store knew them by) to
 * the log. A crash between the two leaves the store erased and the request failed; the client retries,
 * which is safe because erasure is idempotent. */
export async function eraseUser(log: Log, store: Store, userId: string): Promise<Erasure> {
  await log.ensureTopic(ERASURES_TOPIC, { partitions: 1 });
  const erasure = await store.eraseUser(userId);
  const record: ErasureRecord = { userId, ids: erasure.ids, at: Date.now() };
  await log.append(ERASURES_TOPIC, [{ key: userId, value: Buffer.from(JSON.stringify(record)) }]);
  return erasure;
}

/** Every erasure recorded in the log, oldest first. */
export async function readRecordedErasures(log: Log): Promise<ErasureRecord[]> {
  await log.ensureTopic(ERASURES_TOPIC, { partitions: 1 });
  const erasures: ErasureRecord[] = [];
  for (const { partition, start, end } of await log.offsets(ERASURES_TOPIC)) {
    for (let offset = start; offset < end; ) {
      const records = await log.read(ERASURES_TOPIC, partition, offset, { maxRecords: 1_000 });
      if (records.length === 0) break;
      for (const record of records) erasures.push(JSON.parse(record.value.toString('utf8')) as ErasureRecord);
      offset = records[records.length - 1]!.offset + 1;
    }
  }
  return erasures;
}

/** Re-applies every recorded erasure to `store` (idempotent); run before the storage writer starts.
 * Returns every erased id. */
export async function applyRecordedErasures(log: Log, store: Store): Promise<Set<string>> {
  const tombstoned = new Set<string>();
  try {
    const known = await store.query('SELECT distinct_id FROM tombstones', { maxRows: 10_000_000 });
    for (const row of known.rows) tombstoned.add(String(row[0]));
  } catch (err) {
    // PostgreSQL's read-only query role is not granted the tombstones (they name erased people); then
    // every recorded erasure is applied again, which eraseUser makes harmless.
    if (!isTracklaneError(err) || err.code !== 'E_READ_ONLY_SQL') throw err;
  }
  const erased = new Set<string>();
  for (const erasure of await readRecordedErasures(log)) {
    erased.add(erasure.userId);
    for (const id of erasure.ids) erased.add(id);
    if (erasure.ids.every((id) => tombstoned.has(id)) && tombstoned.has(erasure.userId)) continue;
    await store.eraseUser(erasure.userId, erasure.ids);
  }
  return erased;
}
