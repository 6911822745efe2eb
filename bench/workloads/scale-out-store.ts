import { join } from 'node:path';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { TrackedEvent } from '@tracklane/core';
import { ClickHouseStore } from '@tracklane/storage-clickhouse';
import { PostgresStore } from '@tracklane/storage-postgres';
import { pgServerMissing, startPgServer } from '@tracklane/storage-postgres/testing';
import { createChdbConnection } from 'chdb/connection';
import pg from 'pg';
import type { BenchContext, BenchResult, Workload } from '../result.ts';

/**
 * Store.insertEvents on PostgreSQL and on ClickHouse beside a plain INSERT of the same rows through the same
 * client, into a table of the same shape:
 *
 * - PostgreSQL (Debian's server, started by @tracklane/storage-postgres/testing in a temp dir, fsync off):
 *   PostgresStore vs a multi-row `INSERT ... VALUES ($1, ...), ...` per batch through `pg` into `raw_events`
 *   (LIKE events INCLUDING ALL: same columns, month partition, BRIN and id indexes). The store also records
 *   each id in its dedup ledger and links identities; a second plain INSERT that also writes the ledger
 *   (ON CONFLICT DO NOTHING) is printed beside it, as the same rows without the store's dedup join.
 * - ClickHouse (a current engine in process through chdb, the way the store's tests run it): ClickHouseStore
 *   vs `client.insert(JSONEachRow)` through the same @clickhouse/client on the same chdb connection into
 *   `raw_events AS events` (same ReplacingMergeTree, order key and bloom filters). Printed beside it: the
 *   same insert after a lookup of the batch's ids, the plain way to write exactly once by hand.
 *
 * Batches are the storage writer's (up to 2,000 records a poll), every event new, and the raw and store
 * inserts of each batch alternate, so load from neighbours falls on both alike. The raw side builds its rows
 * from the same TrackedEvent objects inside the timing, as any writer must.
 */
export const WRITER_BATCH = 2_000;
/** Issue 8's goal, at most 20% overhead over the raw client: our time <= 1.2x, so throughput >= 1/1.2. */
export const GOAL = Math.round((1 / 1.2) * 1000) / 1000;

const SOURCES = ['src_web', 'src_ios', 'src_api'];
const EVENTS = ['Viewed Product', 'Added to Cart', 'Searched', 'Clicked', 'Started Checkout', 'Purchased'];
const PATHS = ['/', '/pricing', '/docs', '/products/42', '/cart', '/checkout'];

/**
 * `count` collector-shaped events (ids from `prefix`, so every run's events are new), in January 2026 (one
 * month partition): page views and track events with properties and a browser context, 30% from
 * identified users (so identities get linked), ~660 bytes of JSON each.
 */
export function makeEvents(count: number, prefix: string): TrackedEvent[] {
  const out: TrackedEvent[] = new Array(count);
  const base = Date.parse('2026-01-05T00:00:00Z');
  for (let i = 0; i < count; i++) {
    const anon = `anon-${prefix}-${i % 5_000}`;
    const ts = new Date(base + i * 997).toISOString();
    const path = PATHS[i % PATHS.length]!;
    const context = {
      ip: '203.0.113.0',
      userAgent:
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
      page: { path, url: `https://shop.example${path}`, referrer: 'https://www.example.org/' },
      library: { name: '@tracklane/browser', version: '0.1.0' },
      tracklane: { bot: false, browser: 'Chrome', os: 'Linux', device: 'desktop' },
    };
    const common = {
      messageId: `${prefix}-${i}`,
      anonymousId: anon,
      ...(i % 10 < 3 ? { userId: `user-${prefix}-${i % 1_500}` } : {}),
      timestamp: ts,
      sentAt: ts,
      receivedAt: ts,
      sourceId: SOURCES[i % SOURCES.length]!,
      context,
    };
    out[i] =
      i % 4 === 0
        ? { type: 'page', name: path, properties: { path, title: 'Shop' }, ...common }
        : {
            type: 'track',
            event: EVENTS[i % EVENTS.length]!,
            properties: { sku: `sku-${i % 300}`, price: (i % 97) + 0.99, currency: 'EUR' },
            ...common,
          };
  }
  return out;
}

const COLUMNS = [
  'message_id',
  'type',
  'event',
  'name',
  'anonymous_id',
  'user_id',
  'group_id',
  'previous_id',
  'timestamp',
  'sent_at',
  'received_at',
  'source_id',
  'properties',
  'traits',
  'context',
  'page_path',
  'is_bot',
] as const;

type Bag = Record<string, unknown> | undefined;

/** The columns of `events` for one event, as a hand-written writer would compute them. */
function rowValues(
  e: TrackedEvent,
  time: (iso: string | undefined) => string | null,
  bag: (value: unknown) => unknown = JSON.stringify,
): unknown[] {
  const r = e as Record<string, unknown>;
  const context = e.context as Record<string, Bag> | undefined;
  const properties = r.properties as Bag;
  const path = context?.page?.path ?? (e.type === 'page' ? properties?.path : undefined);
  const bot = context?.tracklane?.bot;
  return [
    e.messageId,
    e.type,
    r.event ?? null,
    r.name ?? null,
    e.anonymousId ?? null,
    e.userId ?? null,
    r.groupId ?? null,
    r.previousId ?? null,
    time(e.timestamp),
    time(e.sentAt),
    time(e.receivedAt),
    e.sourceId,
    properties === undefined ? null : bag(properties),
    r.traits === undefined ? null : bag(r.traits),
    context === undefined ? null : bag(context),
    path === undefined ? null : String(path),
    bot === undefined ? null : bot === true,
  ];
}

const pgTime = (iso: string | undefined) => iso ?? null;
const chTime = (iso: string | undefined) =>
  iso === undefined ? null : new Date(iso).toISOString().replace('T', ' ').slice(0, -1);

/** `INSERT INTO table (cols) VALUES ($1, ...), ...` for `rows` rows, built once per batch size. */
const insertSql = new Map<string, string>();
function valuesInsert(table: string, rows: number): string {
  const key = `${table}/${rows}`;
  let sql = insertSql.get(key);
  if (sql === undefined) {
    const tuples: string[] = [];
    for (let r = 0; r < rows; r++) {
      const p = COLUMNS.map((_, c) => `$${r * COLUMNS.length + c + 1}`);
      tuples.push(`(${p.join(', ')})`);
    }
    sql = `INSERT INTO ${table} (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`;
    insertSql.set(key, sql);
  }
  return sql;
}

/** A plain writer's batch: one transaction, one multi-row INSERT; with `ledger`, the ids too. */
export async function pgPlainInsert(
  client: pg.Client,
  batch: TrackedEvent[],
  ledger: boolean,
): Promise<void> {
  const params: unknown[] = [];
  for (const e of batch) params.push(...rowValues(e, pgTime));
  await client.query('BEGIN');
  await client.query(valuesInsert(ledger ? 'raw_events_l' : 'raw_events', batch.length), params);
  if (ledger) {
    await client.query(
      'INSERT INTO raw_ids SELECT * FROM unnest($1::text[], $2::timestamp[]) ON CONFLICT DO NOTHING',
      [batch.map((e) => e.messageId), batch.map((e) => e.timestamp)],
    );
  }
  await client.query('COMMIT');
}

const RECORDSET = `message_id text, type text, event text, name text, anonymous_id text, user_id text,
  group_id text, previous_id text, timestamp timestamp, sent_at timestamp, received_at timestamp, source_id text,
  properties jsonb, traits jsonb, context jsonb, page_path text, is_bot boolean`;

/** The store's own transport by hand: the whole batch as one jsonb parameter, INSERT ... SELECT. */
async function pgJsonbInsert(client: pg.Client, batch: TrackedEvent[]): Promise<void> {
  const rows = batch.map((e) => {
    const v = rowValues(e, pgTime, (bag) => bag);
    const row: Record<string, unknown> = {};
    for (let c = 0; c < COLUMNS.length; c++) row[COLUMNS[c]!] = v[c];
    return row;
  });
  await client.query('BEGIN');
  await client.query(
    `INSERT INTO raw_events_j SELECT * FROM jsonb_to_recordset($1::jsonb) AS s(${RECORDSET})`,
    [JSON.stringify(rows)],
  );
  await client.query('COMMIT');
}

interface Tally {
  events: number;
  ms: number;
  /** Milliseconds of each batch, in order. */
  batches: number[];
  /** CPU time of this process (user + system; with chdb, the engine's too). */
  cpuUs: number;
}
const tally = (): Tally => ({ events: 0, ms: 0, batches: [], cpuUs: 0 });
/** `ours / raw` CPU microseconds per event of this process, which neighbours' load does not inflate. */
const cpuPerEvent = (ours: Tally, raw: Tally) =>
  `${(ours.cpuUs / ours.events).toFixed(1)} / ${(raw.cpuUs / raw.events).toFixed(1)}`;
const perSecond = (t: Tally) => (t.events / t.ms) * 1000;
const round3 = (n: number) => Math.round(n * 1000) / 1000;

async function timed(into: Tally, events: number, run: () => Promise<unknown>): Promise<void> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  into.cpuUs += used.user + used.system;
  into.ms += ms;
  into.batches.push(ms);
  into.events += events;
}

/**
 * The ratio over the first and the last few batches: whether the store's lookups (which read the table) cost
 * more as the table grows, while a plain insert does not look.
 */
function ratioByTableSize(ours: Tally, raw: Tally, k = 5): string {
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const first = sum(raw.batches.slice(0, k)) / sum(ours.batches.slice(0, k));
  const last = sum(raw.batches.slice(-k)) / sum(ours.batches.slice(-k));
  return `${round3(first)} -> ${round3(last)}`;
}

function batches(events: TrackedEvent[]): TrackedEvent[][] {
  const out: TrackedEvent[][] = [];
  for (let i = 0; i < events.length; i += WRITER_BATCH) out.push(events.slice(i, i + WRITER_BATCH));
  return out;
}

async function postgres(ctx: BenchContext, total: number): Promise<BenchResult[]> {
  const missing = pgServerMissing();
  if (missing !== undefined) {
    process.stderr.write(`scale-out-store PostgreSQL skipped: ${missing}\n`);
    return [];
  }
  const server = await startPgServer();
  const store = await PostgresStore.open({ connectionString: server.url }).catch(async (err: unknown) => {
    await server.stop();
    throw err;
  });
  const client = new pg.Client({ connectionString: server.url });
  const ours = tally();
  const raw = tally();
  const rawLedger = tally();
  const rawJsonb = tally();
  try {
    await client.connect();
    for (const table of ['raw_events', 'raw_events_l', 'raw_events_j']) {
      await client.query(`CREATE TABLE ${table} (LIKE events INCLUDING ALL) PARTITION BY RANGE (timestamp)`);
      await client.query(
        `CREATE TABLE ${table}_y2026m01 PARTITION OF ${table} FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')`,
      );
    }
    await client.query('CREATE TABLE raw_ids (LIKE event_ids INCLUDING ALL)');
    // Warm-up outside the timing: the store creates its month partition, both sides plan their statements.
    const warm = makeEvents(WRITER_BATCH, 'warm');
    await store.insertEvents(warm);
    await pgPlainInsert(client, warm, false);
    await pgPlainInsert(client, warm, true);
    await pgJsonbInsert(client, warm);
    const all = batches(makeEvents(total, 'pg'));
    for (const [i, batch] of all.entries()) {
      ctx.progress('PostgreSQL insert', i, all.length);
      await timed(raw, batch.length, () => pgPlainInsert(client, batch, false));
      await timed(ours, batch.length, async () => {
        const n = await store.insertEvents(batch);
        if (n !== batch.length) throw new Error(`PostgresStore inserted ${n} of ${batch.length} new events`);
      });
      await timed(rawLedger, batch.length, () => pgPlainInsert(client, batch, true));
      await timed(rawJsonb, batch.length, () => pgJsonbInsert(client, batch));
    }
    // Every side stored every row, so no figure is fast for having skipped work.
    for (const table of ['events', 'raw_events', 'raw_events_l', 'raw_events_j']) {
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
      if (rows[0]?.n !== total + WRITER_BATCH) throw new Error(`${table} holds ${rows[0]?.n} rows`);
    }
  } finally {
    await client.end().catch(() => undefined);
    await store.close();
    await server.stop();
  }
  return [
    {
      workload: 'scale-out-store',
      name: `PostgresStore.insertEvents (batches of ${WRITER_BATCH}, dedup ledger + identities, one transaction)`,
      value: Math.round(perSecond(ours)),
      unit: 'events/s',
      baseline: {
        name: 'plain INSERT ... VALUES batch through pg, same table shape',
        value: Math.round(perSecond(raw)),
      },
      ratio: round3(perSecond(ours) / perSecond(raw)),
      goal: GOAL,
      extra: {
        events: ours.events,
        'plain INSERT + id ledger (ON CONFLICT DO NOTHING), events/s': Math.round(perSecond(rawLedger)),
        'ratio to INSERT + ledger': round3(perSecond(ours) / perSecond(rawLedger)),
        'plain INSERT ... SELECT FROM jsonb_to_recordset($1) (the store transport), events/s': Math.round(
          perSecond(rawJsonb),
        ),
        'ratio to jsonb_to_recordset INSERT': round3(perSecond(ours) / perSecond(rawJsonb)),
        'ratio, first 5 batches -> last 5': ratioByTableSize(ours, raw),
        'Node CPU us/event, ours / plain VALUES / jsonb': `${cpuPerEvent(ours, raw)} / ${(rawJsonb.cpuUs / rawJsonb.events).toFixed(1)}`,
        'server settings': 'fsync=off, synchronous_commit=off (test server, both sides)',
      },
    },
  ];
}

// createClient's `connection` option is typed against its bundled copy of the Connection interface, which
// chdb's matches in shape but not in identity (as in the store's own chdb tests).
type ClientConnection = NonNullable<Parameters<typeof createClient>[0]>['connection'];

function chdbClient(path: string): ClickHouseClient {
  return createClient({
    connection: createChdbConnection({ path }) as unknown as ClientConnection,
    log: { level: ClickHouseLogLevel.OFF },
  });
}

async function clickhouse(ctx: BenchContext, total: number): Promise<BenchResult[]> {
  const path = join(ctx.tmpDir, 'chdb');
  const store = await ClickHouseStore.open({ client: chdbClient(path) });
  // The same client the store writes with: chdb keeps one engine per process and path.
  const raw = chdbClient(path);
  const ours = tally();
  const plain = tally();
  const checked = tally();
  try {
    await raw.command({ query: 'CREATE TABLE raw_events AS events' });
    await raw.command({ query: 'CREATE TABLE raw_events_c AS events' });
    const warm = makeEvents(WRITER_BATCH, 'warm');
    await store.insertEvents(warm);
    await chInsert(raw, warm);
    await chCheckedInsert(raw, warm);
    const all = batches(makeEvents(total, 'ch'));
    for (const [i, batch] of all.entries()) {
      ctx.progress('ClickHouse insert', i, all.length);
      await timed(plain, batch.length, () => chInsert(raw, batch));
      await timed(ours, batch.length, async () => {
        const n = await store.insertEvents(batch);
        if (n !== batch.length)
          throw new Error(`ClickHouseStore inserted ${n} of ${batch.length} new events`);
      });
      await timed(checked, batch.length, () => chCheckedInsert(raw, batch));
    }
    const counted = await raw.query({ query: 'SELECT count() AS n FROM events', format: 'JSONEachRow' });
    const [row] = await counted.json<{ n: string }>();
    if (Number(row?.n) !== total + WRITER_BATCH) throw new Error(`events holds ${row?.n} rows`);
  } finally {
    await store.close();
    await raw.close();
  }
  return [
    {
      workload: 'scale-out-store',
      name: `ClickHouseStore.insertEvents (chdb, batches of ${WRITER_BATCH}, id check + identities)`,
      value: Math.round(perSecond(ours)),
      unit: 'events/s',
      baseline: {
        name: 'plain client.insert JSONEachRow, same client and table shape',
        value: Math.round(perSecond(plain)),
      },
      ratio: round3(perSecond(ours) / perSecond(plain)),
      goal: GOAL,
      extra: {
        events: ours.events,
        'ratio, first 5 batches -> last 5': ratioByTableSize(ours, plain),
        'process CPU us/event (Node + chdb engine), ours / raw': cpuPerEvent(ours, plain),
        'plain client.insert after a message-id lookup (exactly-once by hand), events/s': Math.round(
          perSecond(checked),
        ),
        'ratio to insert after lookup': round3(perSecond(ours) / perSecond(checked)),
        'process CPU us/event, insert after lookup': (checked.cpuUs / checked.events).toFixed(1),
      },
    },
  ];
}

async function chInsert(client: ClickHouseClient, batch: TrackedEvent[]): Promise<void> {
  const values = batch.map((e) => {
    const v = rowValues(e, chTime);
    const row: Record<string, unknown> = {};
    for (let c = 0; c < COLUMNS.length; c++) row[COLUMNS[c]!] = v[c];
    return row;
  });
  await client.insert({ table: 'raw_events', values, format: 'JSONEachRow' });
}

/** A hand-written exactly-once writer: the batch's ids looked up first, only the new rows inserted. */
async function chCheckedInsert(client: ClickHouseClient, batch: TrackedEvent[]): Promise<void> {
  const found = await client.query({
    query: 'SELECT message_id FROM raw_events_c WHERE message_id IN {ids:Array(String)}',
    query_params: { ids: batch.map((e) => e.messageId) },
    format: 'JSONEachRow',
  });
  const stored = new Set((await found.json<{ message_id: string }>()).map((r) => r.message_id));
  const values: Record<string, unknown>[] = [];
  for (const e of batch) {
    if (stored.has(e.messageId)) continue;
    const v = rowValues(e, chTime);
    const row: Record<string, unknown> = {};
    for (let c = 0; c < COLUMNS.length; c++) row[COLUMNS[c]!] = v[c];
    values.push(row);
  }
  await client.insert({ table: 'raw_events_c', values, format: 'JSONEachRow' });
}

const workload: Workload = {
  name: 'scale-out-store',
  description: `PostgresStore / ClickHouseStore insertEvents (batches of ${WRITER_BATCH}) vs plain INSERT batches through pg / @clickhouse/client`,
  async run(ctx) {
    const total = ctx.quick ? 10_000 : 100_000;
    return [...(await postgres(ctx, total)), ...(await clickhouse(ctx, total))];
  },
};

export default workload;
