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
];
