import type { DuckDBConnection } from '@duckdb/node-api';
import { storeIdentityLinks } from './identity-links.ts';
import { EVENT_DISTINCT_ID, idKeySql } from './person-key.ts';

export interface Migration {
  version: number;
  description: string;
  /** Schema change and backfill in SQL. */
  sql?: string;
  /** A step SQL alone cannot express, run after `sql` in the same transaction. */
  run?: (db: DuckDBConnection) => Promise<void>;
}

/**
 * Versioned schema migrations, applied in order inside one transaction each. Append new entries; never edit
 * an applied one: a data dir created by an older version upgrades by running the ones it lacks.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'raw events and dead letters',
    sql: `
      CREATE TABLE events (
        message_id   VARCHAR PRIMARY KEY,
        type         VARCHAR NOT NULL,
        event        VARCHAR,
        name         VARCHAR,
        anonymous_id VARCHAR,
        user_id      VARCHAR,
        group_id     VARCHAR,
        previous_id  VARCHAR,
        timestamp    TIMESTAMP NOT NULL,
        sent_at      TIMESTAMP,
        received_at  TIMESTAMP NOT NULL,
        source_id    VARCHAR NOT NULL,
        properties   JSON,
        traits       JSON,
        context      JSON
      );
      CREATE TABLE dead_letters (
        id         VARCHAR PRIMARY KEY,
        stage      VARCHAR NOT NULL,
        reason     VARCHAR NOT NULL,
        payload    VARCHAR NOT NULL,
        source_id  VARCHAR,
        message_id VARCHAR,
        failed_at  TIMESTAMP NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: 'identity stitching, erasure tombstones',
    // First link wins: an anonymous id stays with the first user it was identified as, so a shared device
    // does not merge two people. Backfilled from events stored before this migration.
    sql: `
      CREATE TABLE identities (
        distinct_id VARCHAR PRIMARY KEY,
        person_id   VARCHAR NOT NULL,
        linked_at   TIMESTAMP NOT NULL
      );
      CREATE TABLE tombstones (
        distinct_id VARCHAR PRIMARY KEY,
        erased_for  VARCHAR NOT NULL,
        erased_at   TIMESTAMP NOT NULL
      );
      INSERT INTO identities
      SELECT distinct_id, arg_min(person_id, ts), min(ts) FROM (
        SELECT anonymous_id AS distinct_id, user_id AS person_id, timestamp AS ts FROM events
        WHERE anonymous_id IS NOT NULL AND user_id IS NOT NULL AND anonymous_id <> user_id
        UNION ALL
        SELECT previous_id, user_id, timestamp FROM events
        WHERE type = 'alias' AND previous_id IS NOT NULL AND user_id IS NOT NULL AND previous_id <> user_id
      ) GROUP BY distinct_id;
    `,
  },
  {
    version: 3,
    description: 'page path and bot flag as columns',
    // Web analytics read these on every page view; parsing the JSON for them on each query costs more than
    // the rest of the query. Filled on insert (see PAGE_PATH and IS_BOT in duckdb-store.ts).
    sql: `
      ALTER TABLE events ADD COLUMN page_path VARCHAR;
      ALTER TABLE events ADD COLUMN is_bot BOOLEAN;
      UPDATE events SET is_bot = json_extract_string(context, '$.tracklane.bot') = 'true';
      UPDATE events SET page_path = coalesce(
        json_extract_string(context, '$.page.path'),
        json_extract_string(context, '$.tracklane.page.path'),
        CASE WHEN type = 'page' THEN json_extract_string(properties, '$.path') END
      );
    `,
  },
  {
    version: 4,
    description: 'stored 64-bit person keys on events and identities',
    // Funnels, unique users and retention group and join people on these instead of hashing text ids on
    // every query (about a fifth of a funnel's CPU time on 10M events). Filled on insert; see person-key.ts.
    sql: `
      ALTER TABLE events ADD COLUMN distinct_key BIGINT;
      UPDATE events SET distinct_key = ${idKeySql(EVENT_DISTINCT_ID)};
      ALTER TABLE identities ADD COLUMN distinct_key BIGINT;
      ALTER TABLE identities ADD COLUMN person_key BIGINT;
      UPDATE identities SET distinct_key = ${idKeySql('distinct_id')}, person_key = ${idKeySql('person_id')};
    `,
  },
  {
    version: 5,
    description: 'identities resolved through alias chains',
    // Links used to be stored one level deep (a -> b, b -> c). Replay them in time order through the
    // resolver that insertEvents now uses, so every row points at its person's root (a -> c, b -> c).
    async run(db) {
      await db.run(
        'CREATE OR REPLACE TEMP TABLE identities_before AS SELECT distinct_id, person_id, linked_at FROM identities',
      );
      await db.run('DELETE FROM identities');
      await storeIdentityLinks(db, 'SELECT distinct_id, person_id, linked_at AS ts FROM identities_before');
      await db.run('DROP TABLE identities_before');
    },
  },
];
