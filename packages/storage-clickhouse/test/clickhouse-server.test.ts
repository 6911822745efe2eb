import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { runStoreConformance } from '@tracklane/storage/conformance';
import { ClickHouseStore } from '@tracklane/storage-clickhouse';
import {
  type ClickHouseServer,
  clickhouseServerMissing,
  startClickHouseServer,
} from './clickhouse-server.ts';

/**
 * Against a clickhouse-server process. Debian's package is 18.16 (2018), too old for the store: these
 * tests pin that the store refuses it clearly, and which of the store's building blocks that release has.
 * With CLICKHOUSE_URL set (a current server), the Store conformance suite runs against it as well.
 */

const missing = clickhouseServerMissing();

describe('ClickHouseStore on the local clickhouse-server package', { skip: missing }, () => {
  let server: ClickHouseServer;
  let client: ClickHouseClient;
  let version = '';
  before(async () => {
    server = await startClickHouseServer();
    // Failures are what several tests expect: the client's own error log would only be noise.
    client = createClient({ url: server.url, log: { level: ClickHouseLogLevel.OFF } });
    const result = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
    version = ((await result.json()) as { v: string }[])[0]!.v;
  });
  after(async () => {
    await client?.close();
    await server?.stop();
  });

  it('refuses a server older than it supports, naming both versions', async (t) => {
    if (!version.startsWith('18.')) return t.skip(`server is ${version}, not the old Debian release`);
    await assert.rejects(ClickHouseStore.open({ url: server.url }), (err: Error & { code: string }) => {
      assert.equal(err.code, 'E_CONFIG');
      assert.match(err.message, /18\.16.*23\.3/);
      return true;
    });
  });

  it('has on 18.16 the engine pieces the store is built from: ReplacingMergeTree + FINAL, readonly, time limits', async (t) => {
    if (!version.startsWith('18.')) return t.skip(`server is ${version}`);
    await client.command({
      query:
        'CREATE TABLE r (id String, day Date, v UInt8) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(day) ORDER BY (day, id)',
    });
    await client.insert({
      table: 'r',
      values: [{ id: 'a', day: '2026-01-01', v: 1 }],
      format: 'JSONEachRow',
    });
    await client.insert({
      table: 'r',
      values: [{ id: 'a', day: '2026-01-01', v: 2 }],
      format: 'JSONEachRow',
    });
    const count = async (sql: string) =>
      Number(
        ((await (await client.query({ query: sql, format: 'JSONEachRow' })).json()) as { n: string }[])[0]!.n,
      );
    assert.equal(await count('SELECT count() AS n FROM r'), 2, 'before a merge both rows are there');
    assert.equal(await count('SELECT count() AS n FROM r FINAL'), 1, 'FINAL collapses them');
    await assert.rejects(
      client.command({
        query: "INSERT INTO r VALUES ('b', '2026-01-01', 1)",
        clickhouse_settings: { readonly: '1' },
      }),
      /readonly/i,
    );
    await assert.rejects(
      client.query({
        query: 'SELECT count() FROM (SELECT number FROM system.numbers LIMIT 100000000000)',
        clickhouse_settings: { max_execution_time: 1, readonly: '1' },
      }),
      /Timeout exceeded/,
    );
    // Unlike current releases, 18.16 forbids every table function under readonly=1, numbers() included.
    await assert.rejects(
      client.query({ query: 'SELECT * FROM numbers(3)', clickhouse_settings: { readonly: '1' } }),
      /Table functions are forbidden in readonly mode/,
    );
  });

  it('lacks on 18.16 what the store needs from later releases', async (t) => {
    if (!version.startsWith('18.')) return t.skip(`server is ${version}`);
    for (const [sql, why] of [
      ["SELECT toDateTime64('2026-01-01 00:00:00.123', 3)", /Unknown function toDateTime64/],
      [`SELECT JSON_VALUE('{"a":1}', '$.a')`, /Unknown function/],
      ['SELECT {p:String}', /Syntax error|Unknown setting param_p|Substitution/],
      ['CREATE FUNCTION f AS (x) -> x', /Syntax error/],
      ["DELETE FROM r WHERE id = 'a'", /Syntax error/],
      ['EXCHANGE TABLES r AND r', /Syntax error/],
      ['SELECT 1 SETTINGS final = 1', /Unknown setting final/],
    ] as const) {
      await assert.rejects(
        client.query({ query: sql, query_params: sql.includes('{p') ? { p: 'x' } : {} }),
        why,
        sql,
      );
    }
  });
});

const external = process.env.CLICKHOUSE_URL;
if (external !== undefined) {
  let databases = 0;
  runStoreConformance(`ClickHouse server at ${external}`, async () => {
    const database = `tracklane_test_${process.pid}_${++databases}`;
    const admin = createClient({ url: external });
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    return {
      open: () => ClickHouseStore.open({ client: createClient({ url: external, database }) }),
      cleanup: async () => {
        await admin.command({ query: `DROP DATABASE IF EXISTS ${database} SYNC` });
        await admin.close();
      },
    };
  });
}
