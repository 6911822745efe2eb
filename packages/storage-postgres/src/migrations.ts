import type pg from 'pg';
import { storeIdentityLinks } from './identity-links.ts';

/**
 * Versioned schema migrations, applied in order, each in one transaction under an advisory lock (several
 * processes may open the store at once). Append new entries; never edit an applied one.
 *
 * `{reader}` is replaced by the quoted name of the SELECT-only role that runs `query`.
 */
export interface Migration {
  version: number;
  description: string;
  /** Schema change and backfill in SQL. */
  sql?: string;
  /** A step SQL alone cannot express, run after `sql` in the same transaction. */
  run?: (client: pg.PoolClient) => Promise<void>;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description:
      'raw events (month partitions, BRIN on time), message id dedup, dead letters, identities, tombstones',
    // `events` is partitioned by month of `timestamp` so retention drops whole partitions and time-range
    // scans touch only the months asked for. A partitioned table's unique keys must include the partition
    // key, which would let the same message id exist twice under two timestamps; `event_ids` (unpartitioned,
    // keyed by message id alone) is the dedup ledger every insert goes through instead.
    // Columns mirror DuckDB's: zone-less `timestamp` holding UTC, so date_trunc is the same in both.
    sql: `
      CREATE TABLE events (
        message_id   text NOT NULL,
        type         text NOT NULL,
        event        text,
        name         text,
        anonymous_id text,
        user_id      text,
        group_id     text,
        previous_id  text,
        timestamp    timestamp NOT NULL,
        sent_at      timestamp,
        received_at  timestamp NOT NULL,
        source_id    text NOT NULL,
        properties   jsonb,
        traits       jsonb,
        context      jsonb,
        page_path    text,
        is_bot       boolean
      ) PARTITION BY RANGE (timestamp);
      CREATE INDEX events_timestamp_brin ON events USING brin (timestamp);
      CREATE INDEX events_user_id ON events (user_id) WHERE user_id IS NOT NULL;
      CREATE INDEX events_anonymous_id ON events (anonymous_id) WHERE anonymous_id IS NOT NULL;
      CREATE TABLE event_ids (
        message_id text PRIMARY KEY,
        timestamp  timestamp NOT NULL
      );
      CREATE TABLE dead_letters (
        id         text PRIMARY KEY,
        stage      text NOT NULL,
        reason     text NOT NULL,
        payload    text NOT NULL,
        source_id  text,
        message_id text,
        failed_at  timestamp NOT NULL
      );
      CREATE TABLE identities (
        distinct_id text PRIMARY KEY,
        person_id   text NOT NULL,
        linked_at   timestamp NOT NULL
      );
      CREATE INDEX identities_person_id ON identities (person_id);
      CREATE TABLE tombstones (
        distinct_id text PRIMARY KEY,
        erased_for  text NOT NULL,
        erased_at   timestamp NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: 'SELECT-only reader role for the query API',
    // Tables created later by this user (projections) are readable too, through default privileges.
    sql: `
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {reader_literal}) THEN
          CREATE ROLE {reader} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
        END IF;
      END $$;
      GRANT {reader} TO CURRENT_USER;
      GRANT USAGE ON SCHEMA {schema} TO {reader};
      GRANT SELECT ON events, dead_letters, identities, schema_migrations TO {reader};
      ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {reader};
    `,
  },
  {
    version: 3,
    description: 'DuckDB-compatible helpers: strftime, json_extract, json_extract_string, range',
    // SQL written against the embedded store (saved queries, the Store conformance suite) keeps working here
    // for its common functions. Plain SQL/plpgsql, not SECURITY DEFINER: they run with the caller's rights.
    sql: `
      CREATE FUNCTION strftime(ts timestamp, fmt text) RETURNS text
      LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
      DECLARE
        pattern text := '';
        i int := 1;
        c text;
      BEGIN
        WHILE i <= length(fmt) LOOP
          c := substr(fmt, i, 1);
          IF c = '%' AND i < length(fmt) THEN
            c := substr(fmt, i + 1, 1);
            pattern := pattern || CASE c
              WHEN 'Y' THEN 'YYYY' WHEN 'y' THEN 'YY' WHEN 'm' THEN 'MM' WHEN 'd' THEN 'DD'
              WHEN 'H' THEN 'HH24' WHEN 'I' THEN 'HH12' WHEN 'M' THEN 'MI' WHEN 'S' THEN 'SS'
              WHEN 'g' THEN 'MS' WHEN 'f' THEN 'US' WHEN 'p' THEN 'AM' WHEN 'j' THEN 'DDD'
              WHEN 'a' THEN 'Dy' WHEN 'A' THEN 'FMDay' WHEN 'b' THEN 'Mon' WHEN 'B' THEN 'FMMonth'
              WHEN '%' THEN '"%"'
              ELSE '"%' || c || '"' END;
            i := i + 2;
          ELSE
            -- Quoted one character at a time: to_char reads letters such as T, D, Y as patterns.
            pattern := pattern || '"' || replace(replace(c, '\\', '\\\\'), '"', '\\"') || '"';
            i := i + 1;
          END IF;
        END LOOP;
        RETURN to_char(ts, pattern);
      END $fn$;
      CREATE FUNCTION json_extract(doc jsonb, path text) RETURNS jsonb
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT jsonb_path_query_first(doc, path::jsonpath) $fn$;
      CREATE FUNCTION json_extract_string(doc jsonb, path text) RETURNS text
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT jsonb_path_query_first(doc, path::jsonpath) #>> '{}' $fn$;
      CREATE FUNCTION range(n bigint) RETURNS SETOF bigint
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$ SELECT generate_series(0::bigint, n - 1) $fn$;
    `,
  },
  {
    version: 4,
    description: 'stored 64-bit person keys on events and identities',
    // The keys the analytics queries group and join people on (see @tracklane/storage person-key.ts): the
    // first 63 bits of the id's MD5, the same value DuckDB and ClickHouse store. Generated columns, so every
    // insert and every identity update keeps them right without the writers knowing about them.
    sql: `
      ALTER TABLE events ADD COLUMN distinct_key bigint
        GENERATED ALWAYS AS (${idKey('coalesce(user_id, anonymous_id)')}) STORED;
      ALTER TABLE identities
        ADD COLUMN distinct_key bigint GENERATED ALWAYS AS (${idKey('distinct_id')}) STORED,
        ADD COLUMN person_key bigint GENERATED ALWAYS AS (${idKey('person_id')}) STORED;
    `,
  },
  {
    version: 5,
    description: 'identities resolved through alias chains',
    // Links used to be stored one level deep (a -> b, b -> c). Replay them in time order through the resolver
    // insertEvents now uses, so every row points at its person's root (a -> c, b -> c), as DuckDB's store does.
    async run(client) {
      await client.query(
        'CREATE TEMP TABLE identities_before ON COMMIT DROP AS SELECT distinct_id, person_id, linked_at FROM identities',
      );
      await client.query('DELETE FROM identities');
      await storeIdentityLinks(
        client,
        'SELECT distinct_id, person_id, linked_at AS ts FROM identities_before',
      );
    },
  },
];

/** An id's stored key: MD5's first 16 hex digits as 64 bits, shifted right once to stay non-negative. */
function idKey(id: string): string {
  return `((('x' || left(md5(${id}), 16))::bit(64) >> 1)::bigint)`;
}
