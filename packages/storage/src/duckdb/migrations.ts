/**
 * Versioned schema migrations, applied in order inside one transaction each. Append new entries; never edit
 * an applied one: a data dir created by an older version upgrades by running the ones it lacks.
 */
export const MIGRATIONS: readonly { version: number; description: string; sql: string }[] = [
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
];
