import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TrackedEvent } from '@tracklane/core';
import { DuckDbStore } from '../duckdb/duckdb-store.ts';
import type { Store } from '../store.ts';

/**
 * The same raw-event questions asked of DuckDB and of another store holding the same data must get the
 * same answers. The SQL is written once: it uses only what all three engines share plus the DuckDB-named
 * helpers (strftime, json_extract_string) the other stores provide.
 */
const QUESTIONS: Record<string, string> = {
  'counts by event and day': `SELECT coalesce(event, name, type) AS what, strftime(timestamp, '%Y-%m-%d') AS day, count(*) AS n
    FROM events GROUP BY what, day ORDER BY what, day`,
  'unique users and anonymous ids': `SELECT count(DISTINCT user_id) AS users, count(DISTINCT anonymous_id) AS anons, count(*) AS n
    FROM events`,
  'people after identity stitching': `SELECT count(DISTINCT coalesce(i.person_id, e.user_id, e.anonymous_id)) AS people
    FROM events e LEFT JOIN identities i ON i.distinct_id = coalesce(e.user_id, e.anonymous_id)`,
  'events per stitched person': `SELECT coalesce(i.person_id, e.user_id, e.anonymous_id) AS person, count(*) AS n
    FROM events e LEFT JOIN identities i ON i.distinct_id = coalesce(e.user_id, e.anonymous_id)
    GROUP BY person ORDER BY person`,
  'page views by path': `SELECT page_path, count(*) AS n FROM events WHERE page_path IS NOT NULL
    GROUP BY page_path ORDER BY page_path`,
  'revenue from a JSON property': `SELECT sum(CAST(json_extract_string(properties, '$.amount') AS FLOAT)) AS revenue
    FROM events WHERE event = 'Purchased'`,
  'dead letters by stage': 'SELECT stage, count(*) AS n FROM dead_letters GROUP BY stage ORDER BY stage',
};

const LETTERS = [
  { id: 'dl-1', stage: 'collector', reason: 'bad json', payload: '{', failedAt: Date.UTC(2026, 2, 2) },
  {
    id: 'dl-2',
    stage: 'collector',
    reason: 'too big',
    payload: '{"userId":"dave"}',
    failedAt: Date.UTC(2026, 2, 3),
  },
  {
    id: 'dl-3',
    stage: 'storage',
    reason: 'x',
    payload: '{"userId":"alice"}',
    failedAt: Date.UTC(2026, 2, 4),
  },
];

/** The data both stores get, and the person the erasure test removes (by user id and one anonymous id). */
export interface SameAnswersDataset {
  events: readonly TrackedEvent[];
  erase: { userId: string; anonymousId: string };
}

async function load(store: Store, events: readonly TrackedEvent[]): Promise<void> {
  // In two batches, the second repeating the first: dedup is part of what is compared.
  const half = Math.ceil(events.length / 2);
  await store.insertEvents(events.slice(0, half));
  await store.insertEvents([...events]);
  await store.insertDeadLetters(LETTERS);
  await store.insertDeadLetters(LETTERS.slice(0, 1));
}

/**
 * Runs the same questions against DuckDB and against another Store loaded with the same dataset, and
 * expects equal answers. Exported for every Store implementation beside the conformance suite.
 */
export function runSameAnswers(
  name: string,
  open: () => Promise<{ store: Store; close(): Promise<void> }>,
  dataset: SameAnswersDataset,
): void {
  describe(`${name} answers like DuckDB on the analytics dataset`, () => {
    let duck: Store;
    let other: { store: Store; close(): Promise<void> };
    before(async () => {
      duck = await DuckDbStore.open(':memory:');
      other = await open();
      await load(duck, dataset.events);
      await load(other.store, dataset.events);
    });
    after(async () => {
      await duck?.close();
      await other?.close();
    });

    for (const [question, sql] of Object.entries(QUESTIONS)) {
      it(question, async () => {
        const expected = await duck.query(sql);
        const actual = await other.store.query(sql);
        assert.ok(expected.rows.length > 0, 'the question has an answer');
        assert.deepEqual(actual.rows, expected.rows);
      });
    }

    it('erases a person the same way', async () => {
      const expected = await duck.eraseUser(dataset.erase.userId);
      const actual = await other.store.eraseUser(dataset.erase.userId);
      assert.deepEqual(
        { ids: actual.ids, events: actual.eventsDeleted },
        { ids: expected.ids, events: expected.eventsDeleted },
      );
      assert.equal(actual.derivedRowsDeleted, expected.derivedRowsDeleted);
      const left = 'SELECT count(*) FROM events WHERE user_id = $1 OR anonymous_id = $2';
      const params = [dataset.erase.userId, dataset.erase.anonymousId];
      assert.deepEqual(
        (await other.store.query(left, { params })).rows,
        (await duck.query(left, { params })).rows,
      );
      for (const sql of [QUESTIONS['counts by event and day']!, QUESTIONS['dead letters by stage']!]) {
        assert.deepEqual((await other.store.query(sql)).rows, (await duck.query(sql)).rows, sql);
      }
      await duck.insertEvents([...dataset.events]);
      await other.store.insertEvents([...dataset.events]);
      const sql = QUESTIONS['events per stitched person']!;
      assert.deepEqual(
        (await other.store.query(sql)).rows,
        (await duck.query(sql)).rows,
        'replay stays erased',
      );
    });
  });
}
