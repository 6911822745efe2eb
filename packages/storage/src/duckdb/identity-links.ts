import type { DuckDBConnection } from '@duckdb/node-api';
import { idKeySql } from './person-key.ts';

/** A claim that `distinctId` is the same person as `personId` (identify: anonymous id -> user id; alias:
 * previous id -> user id), made at `linkedAt`. */
export interface IdentityLink {
  distinctId: string;
  personId: string;
  linkedAt: string;
}

/** A candidate link, with where its `personId` already points in the stored table (if it does). */
export interface CandidateLink extends IdentityLink {
  storedRoot: string | null;
}

export interface ResolvedLinks {
  /** New rows for `identities`, each pointing at its person's root. */
  inserts: IdentityLink[];
  /** Old root -> new root: stored rows pointing at an id that is now linked must follow it. */
  moves: Map<string, string>;
}

/**
 * Identity stitching with alias chains resolved at write time, so every `identities` row points straight
 * at its person's root id (an id with no link of its own) and queries need one join, never a recursion.
 * a -> b then b -> c leaves a -> c and b -> c, in whichever order the two links arrive.
 *
 * Rules, applied to links in time order:
 * - first link wins: an id that is already linked keeps its person (a shared device stays with the first
 *   user it was identified as, so two people are not merged by it);
 * - a link is followed to its target's root, and a link that would close a loop (b -> a when a already
 *   leads to b) is dropped: both ids already are one person;
 * - when a root gets linked (b -> c while a -> b), everyone pointing at it moves to the new root.
 *
 * `candidates` must be in time order and hold only ids not linked yet; `storedRoot` is where the stored
 * table sends each candidate's `personId` (the table is kept resolved, so one lookup is the whole chain).
 */
export function resolveLinks(candidates: readonly CandidateLink[]): ResolvedLinks {
  const linked = new Map<string, IdentityLink>();
  const storedRoots = new Map<string, string>();
  for (const c of candidates) if (c.storedRoot !== null) storedRoots.set(c.personId, c.storedRoot);
  const root = (id: string): string => {
    let r = storedRoots.get(id) ?? id;
    for (let next = linked.get(r); next !== undefined; next = linked.get(r)) r = next.personId;
    return r;
  };
  for (const c of candidates) {
    if (c.distinctId === c.personId || linked.has(c.distinctId)) continue;
    const target = root(c.personId);
    if (target === c.distinctId) continue;
    linked.set(c.distinctId, { distinctId: c.distinctId, personId: target, linkedAt: c.linkedAt });
  }
  const inserts: IdentityLink[] = [];
  const moves = new Map<string, string>();
  for (const link of linked.values()) {
    const target = root(link.personId);
    inserts.push({ ...link, personId: target });
    moves.set(link.distinctId, target);
  }
  return { inserts, moves };
}

const ISO = '%Y-%m-%dT%H:%M:%S.%f';

export interface StoredLinks {
  /** How many ids were newly linked. */
  added: number;
  /** Candidate ids still unlinked afterwards (their link would have closed a loop). Every other candidate
   * id is linked now, newly or from before. */
  leftUnlinked: Set<string>;
}

/**
 * Stores the links `source` yields (an internal SELECT of `distinct_id, person_id, ts`; never request text),
 * resolved by `resolveLinks`. Runs on the writer connection, inside the caller's transaction.
 */
export async function storeIdentityLinks(db: DuckDBConnection, source: string): Promise<StoredLinks> {
  // Each distinct (id, person) pair once, at its first time; ids already linked are out (first link wins).
  const found = await db.runAndReadAll(
    `SELECT c.distinct_id, c.person_id, strftime(c.ts, '${ISO}'), s.person_id
     FROM (
       SELECT distinct_id, person_id, min(ts) AS ts FROM (${source}) src
       WHERE distinct_id IS NOT NULL AND person_id IS NOT NULL AND distinct_id <> person_id
       GROUP BY distinct_id, person_id
     ) c
     ANTI JOIN identities x ON x.distinct_id = c.distinct_id
     LEFT JOIN identities s ON s.distinct_id = c.person_id
     ORDER BY c.ts, c.distinct_id, c.person_id`,
  );
  const rows = found.getRowsJS() as [string, string, string, string | null][];
  if (rows.length === 0) return { added: 0, leftUnlinked: new Set() };
  const { inserts, moves } = resolveLinks(
    rows.map(([distinctId, personId, linkedAt, storedRoot]) => ({
      distinctId,
      personId,
      linkedAt,
      storedRoot,
    })),
  );
  await db.run(
    'CREATE TEMP TABLE IF NOT EXISTS identity_changes (distinct_id VARCHAR, person_id VARCHAR, linked_at VARCHAR, is_move BOOLEAN)',
  );
  await db.run('DELETE FROM identity_changes');
  const appender = await db.createAppender('identity_changes', 'main', 'temp');
  try {
    for (const link of inserts) {
      appender.appendVarchar(link.distinctId);
      appender.appendVarchar(link.personId);
      appender.appendVarchar(link.linkedAt);
      appender.appendBoolean(false);
      appender.endRow();
    }
    for (const [from, to] of moves) {
      appender.appendVarchar(from);
      appender.appendVarchar(to);
      appender.appendNull();
      appender.appendBoolean(true);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  await db.run(
    `UPDATE identities SET person_id = m.person_id, person_key = ${idKeySql('m.person_id')}
     FROM identity_changes m WHERE m.is_move AND identities.person_id = m.distinct_id`,
  );
  const added = await db.run(
    `INSERT INTO identities (distinct_id, person_id, linked_at, distinct_key, person_key)
     SELECT distinct_id, person_id, CAST(linked_at AS TIMESTAMP), ${idKeySql('distinct_id')}, ${idKeySql('person_id')}
     FROM identity_changes WHERE NOT is_move
     ON CONFLICT DO NOTHING`,
  );
  await db.run('DELETE FROM identity_changes');
  const leftUnlinked = new Set(rows.map((row) => row[0]));
  for (const link of inserts) leftUnlinked.delete(link.distinctId);
  return { added: Number(added.rowsChanged), leftUnlinked };
}
