/**
 * Versioned schema migrations. ClickHouse has no DDL transactions, so every statement is idempotent
 * (IF NOT EXISTS): a migration cut short re-runs whole on the next open. Append new entries; never edit one.
 */

const TS = "DateTime64(3, 'UTC')";

export interface Migration {
  version: number;
  description: string;
  statements: string[];
  /** Then re-resolve stored identity links through alias chains (see ClickHouseStore#relinkIdentities). */
  relinkIdentities?: boolean;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'raw events, dead letters, identities, tombstones',
    statements: [
      // Sorted by day then message id, partitioned by month: time-range scans read few parts and retention
      // drops whole partitions. ReplacingMergeTree collapses an event written twice by racing writers on its
      // next merge; reads use FINAL (see query) so answers are exact before that. This is what makes a
      // re-delivered event count once (insertEvents only skips the ids it remembers, see ClickHouseStore).
      // The bloom filters serve erasure and those checks, which look rows up by id, not by time.
      `CREATE TABLE IF NOT EXISTS events (
        message_id   String,
        type         LowCardinality(String),
        event        Nullable(String),
        name         Nullable(String),
        anonymous_id Nullable(String),
        user_id      Nullable(String),
        group_id     Nullable(String),
        previous_id  Nullable(String),
        timestamp    ${TS},
        sent_at      Nullable(${TS}),
        received_at  ${TS},
        source_id    LowCardinality(String),
        properties   Nullable(String),
        traits       Nullable(String),
        context      Nullable(String),
        page_path    Nullable(String),
        is_bot       Nullable(Bool),
        INDEX message_id_bloom message_id TYPE bloom_filter(0.001) GRANULARITY 1,
        INDEX user_id_bloom user_id TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX anonymous_id_bloom anonymous_id TYPE bloom_filter(0.01) GRANULARITY 1
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(timestamp)
      ORDER BY (toDate(timestamp), message_id)`,
      `CREATE TABLE IF NOT EXISTS dead_letters (
        id         String,
        stage      String,
        reason     String,
        payload    String,
        source_id  Nullable(String),
        message_id Nullable(String),
        failed_at  ${TS}
      ) ENGINE = ReplacingMergeTree ORDER BY id`,
      // First link wins, as in DuckDB, even between racing writers: the version is larger for an earlier
      // link, and ReplacingMergeTree keeps the largest version.
      `CREATE TABLE IF NOT EXISTS identities (
        distinct_id String,
        person_id   String,
        linked_at   ${TS},
        _version    UInt64 MATERIALIZED toUInt64(99999999999999) - toUInt64(toUnixTimestamp64Milli(linked_at))
      ) ENGINE = ReplacingMergeTree(_version) ORDER BY distinct_id`,
      `CREATE TABLE IF NOT EXISTS tombstones (
        distinct_id String,
        erased_for  String,
        erased_at   ${TS}
      ) ENGINE = ReplacingMergeTree ORDER BY distinct_id`,
    ],
  },
  {
    version: 2,
    description: 'stored 64-bit person keys on events and identities',
    // The keys the analytics queries group and join people on (see @tracklane/storage person-key.ts): the
    // first 63 bits of the id's MD5, the same value DuckDB and PostgreSQL store. MATERIALIZED: computed on
    // insert (and for older parts on read), never written by the store, left out of SELECT *.
    statements: [
      `ALTER TABLE events ADD COLUMN IF NOT EXISTS distinct_key Nullable(Int64)
        MATERIALIZED ${idKey('coalesce(user_id, anonymous_id)')}`,
      `ALTER TABLE identities ADD COLUMN IF NOT EXISTS distinct_key Int64 MATERIALIZED ${idKey('distinct_id')}`,
      `ALTER TABLE identities ADD COLUMN IF NOT EXISTS person_key Int64 MATERIALIZED ${idKey('person_id')}`,
    ],
  },
  {
    version: 3,
    description: 'identities resolved through alias chains',
    // Links used to be stored one level deep (a -> b, b -> c); now each row points at its person's root.
    statements: [],
    relinkIdentities: true,
  },
];

/** An id's stored key: MD5's first 8 bytes read big-endian (MD5 gives raw bytes; reinterpretAsUInt64 reads
 * little-endian, hence the reverse), shifted right once to stay non-negative. */
function idKey(id: string): string {
  return `toInt64(bitShiftRight(reinterpretAsUInt64(reverse(substring(MD5(${id}), 1, 8))), 1))`;
}

/**
 * DuckDB-named helpers, so SQL written against the embedded store (saved queries, the Store conformance
 * suite) runs here for its common functions. SQL UDFs are server-wide objects, not database ones: created
 * IF NOT EXISTS on every open rather than versioned with a database's schema.
 */
export const COMPAT_FUNCTIONS: readonly string[] = [
  // DuckDB's %M is the minute (ClickHouse's %i) and %g the milliseconds, which formatDateTime lacks: a
  // placeholder byte is formatted and then replaced by the zero-padded milliseconds.
  `CREATE FUNCTION IF NOT EXISTS strftime AS (t, f) -> replaceAll(
     formatDateTime(t, replaceAll(replaceAll(f, '%M', '%i'), '%g', '\\x01')),
     '\\x01', leftPad(toString(toUnixTimestamp64Milli(toDateTime64(t, 3)) % 1000), 3, '0'))`,
  // JSON_QUERY wraps its match in [ ]; DuckDB's json_extract returns the bare JSON value, NULL if absent.
  `CREATE FUNCTION IF NOT EXISTS json_extract AS (j, p) ->
     nullIf(substring(JSON_QUERY(j, p), 2, length(JSON_QUERY(j, p)) - 2), '')`,
  `CREATE FUNCTION IF NOT EXISTS json_extract_string AS (j, p) -> nullIf(JSON_VALUE(j, p), '')`,
];
