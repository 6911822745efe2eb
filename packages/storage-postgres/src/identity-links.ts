import { resolveLinks } from '@tracklane/storage';
import type pg from 'pg';

/**
 * Stores the identity links `source` yields (an internal SELECT of `distinct_id, person_id, ts`; never
 * request text), resolved through alias chains by the resolver DuckDB's store uses, so every row points at
 * its person's root and the three stores stitch people the same way. Runs inside the caller's transaction;
 * the caller serializes writers (see IDENTITY_LOCK in postgres-store.ts).
 */
export async function storeIdentityLinks(client: pg.PoolClient, source: string): Promise<void> {
  // Each distinct (id, person) pair once, at its first time; ids already linked are out (first link wins).
  // Ordered as DuckDB orders them (time, then ids by byte), so ties resolve the same way.
  const found = await client.query<[string, string, string, string | null]>({
    text: `SELECT c.distinct_id, c.person_id, to_char(c.ts, 'YYYY-MM-DD"T"HH24:MI:SS.US'), s.person_id
     FROM (
       SELECT distinct_id, person_id, min(ts) AS ts FROM (${source}) links
       WHERE distinct_id IS NOT NULL AND person_id IS NOT NULL AND distinct_id <> person_id
       GROUP BY distinct_id, person_id
     ) c
     LEFT JOIN identities s ON s.distinct_id = c.person_id
     WHERE NOT EXISTS (SELECT 1 FROM identities x WHERE x.distinct_id = c.distinct_id)
     ORDER BY c.ts, c.distinct_id COLLATE "C", c.person_id COLLATE "C"`,
    rowMode: 'array',
  });
  if (found.rows.length === 0) return;
  const { inserts, moves } = resolveLinks(
    found.rows.map(([distinctId, personId, linkedAt, storedRoot]) => ({
      distinctId,
      personId,
      linkedAt,
      storedRoot,
    })),
  );
  // Stored rows pointing at an id that is now linked follow it to its root (person_key is generated).
  if (moves.size > 0) {
    await client.query(
      `UPDATE identities SET person_id = m.to_id FROM unnest($1::text[], $2::text[]) AS m(from_id, to_id)
       WHERE identities.person_id = m.from_id`,
      [[...moves.keys()], [...moves.values()]],
    );
  }
  await client.query(
    `INSERT INTO identities (distinct_id, person_id, linked_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamp[]) ON CONFLICT DO NOTHING`,
    [inserts.map((l) => l.distinctId), inserts.map((l) => l.personId), inserts.map((l) => l.linkedAt)],
  );
}
