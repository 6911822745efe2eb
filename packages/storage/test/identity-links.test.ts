import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TrackedEvent } from '@tracklane/core';
import { DuckDbStore } from '@tracklane/storage';
import { type CandidateLink, resolveLinks } from '../src/duckdb/identity-links.ts';

function link(distinctId: string, personId: string, minute: number, storedRoot: string | null = null) {
  const linkedAt = `2026-04-01T00:${String(minute).padStart(2, '0')}:00.000000`;
  return { distinctId, personId, linkedAt, storedRoot } satisfies CandidateLink;
}

describe('resolveLinks', () => {
  it('points every id of a chain at its root, whichever link comes first', () => {
    const inOrder = resolveLinks([link('a', 'b', 1), link('b', 'c', 2)]);
    assert.deepEqual(
      inOrder.inserts.map((l) => [l.distinctId, l.personId]),
      [
        ['a', 'c'],
        ['b', 'c'],
      ],
    );
    const reversed = resolveLinks([link('b', 'c', 1), link('a', 'b', 2)]);
    assert.deepEqual(
      reversed.inserts.map((l) => [l.distinctId, l.personId]),
      [
        ['b', 'c'],
        ['a', 'c'],
      ],
    );
  });

  it('follows a stored link of the target and moves stored rows of a root that gets linked', () => {
    // Stored: x -> y. New: w -> x (x is already y's), y -> z (y's people move to z).
    const { inserts, moves } = resolveLinks([link('w', 'x', 1, 'y'), link('y', 'z', 2)]);
    assert.deepEqual(
      inserts.map((l) => [l.distinctId, l.personId]),
      [
        ['w', 'z'],
        ['y', 'z'],
      ],
    );
    assert.deepEqual(
      [...moves],
      [
        ['w', 'z'],
        ['y', 'z'],
      ],
    );
  });

  it('drops a link that would close a loop, and keeps the first link of an id', () => {
    const { inserts } = resolveLinks([
      link('p', 'q', 1),
      link('q', 'p', 2),
      link('s', 'm1', 3),
      link('s', 'm2', 4),
      link('r', 'r', 5),
    ]);
    assert.deepEqual(
      inserts.map((l) => [l.distinctId, l.personId, l.linkedAt.slice(14, 16)]),
      [
        ['p', 'q', '01'],
        ['s', 'm1', '03'],
      ],
    );
  });
});

const base = (id: string, minute: number) => ({
  messageId: id,
  timestamp: `2026-04-01T00:${String(minute).padStart(2, '0')}:00Z`,
  receivedAt: '2026-04-01T01:00:00Z',
  sourceId: 'src',
});
const page = (id: string, minute: number, ids: { anonymousId?: string; userId?: string }) =>
  ({ type: 'page', properties: {}, ...ids, ...base(id, minute) }) as TrackedEvent;
const identify = (id: string, minute: number, anonymousId: string, userId: string) =>
  ({ type: 'identify', traits: {}, anonymousId, userId, ...base(id, minute) }) as TrackedEvent;
const alias = (id: string, minute: number, previousId: string, userId: string) =>
  ({ type: 'alias', previousId, userId, ...base(id, minute) }) as TrackedEvent;

describe('identity stitching in the DuckDB store', () => {
  let store: DuckDbStore;
  before(async () => {
    store = await DuckDbStore.open(':memory:');
    // Arrival order differs from link order on purpose: batches as a storage writer would see them.
    await store.insertEvents([page('e1', 1, { anonymousId: 'a1' }), identify('e2', 2, 'a1', 'u-old')]);
    await store.insertEvents([alias('e3', 3, 'u-old', 'u-new'), page('e4', 4, { userId: 'u-new' })]);
    // Chain stored tail first: y -> z, then x -> y.
    await store.insertEvents([alias('e5', 5, 'y', 'z'), page('e6', 6, { anonymousId: 'x' })]);
    await store.insertEvents([identify('e7', 7, 'x', 'y')]);
    // A loop: p -> q, then q -> p (dropped: they already are one person).
    await store.insertEvents([alias('e8', 8, 'p', 'q'), alias('e9', 9, 'q', 'p')]);
    // A shared device: s stays with the first user it was identified as.
    await store.insertEvents([identify('e10', 10, 's', 'm1'), identify('e11', 11, 's', 'm2')]);
    // A whole chain inside one batch, later link first in the batch.
    await store.insertEvents([alias('e13', 13, 'l', 'n'), identify('e12', 12, 'k', 'l')]);
  });
  after(() => store.close());

  it('stores every id pointing at the root of its chain', async () => {
    const rows = (await store.query('SELECT distinct_id, person_id FROM identities ORDER BY distinct_id'))
      .rows;
    assert.deepEqual(rows, [
      ['a1', 'u-new'],
      ['k', 'n'],
      ['l', 'n'],
      ['p', 'q'],
      ['s', 'm1'],
      ['u-old', 'u-new'],
      ['x', 'z'],
      ['y', 'z'],
    ]);
  });

  it('keeps stored keys equal to the keys of the ids', async () => {
    const mismatched = await store.query(
      `SELECT count(*) FROM identities i
       WHERE i.distinct_key <> (SELECT any_value(distinct_key) FROM events WHERE coalesce(user_id, anonymous_id) = i.distinct_id)
          OR i.person_key IS NULL OR i.distinct_key IS NULL`,
    );
    assert.deepEqual(mismatched.rows, [[0]]);
    const keys = await store.query(
      `SELECT count(DISTINCT distinct_key), count(DISTINCT coalesce(user_id, anonymous_id)), count(*) FILTER (WHERE distinct_key IS NULL) FROM events`,
    );
    assert.deepEqual(keys.rows, [[12, 12, 0]]);
  });

  it('counts each chain as one person', async () => {
    // By hand: {a1, u-old, u-new}, {x, y, z}, {p, q}, {s, m1}, {m2}, {k, l, n}: six people.
    const people = await store.query(
      `SELECT count(DISTINCT coalesce(i.person_key, e.distinct_key)) FROM events e
       LEFT JOIN identities i ON i.distinct_key = e.distinct_key`,
    );
    assert.deepEqual(people.rows, [[6]]);
  });

  it('erases the whole person when given any of their ids', async () => {
    const erased = await store.eraseUser('u-old');
    assert.deepEqual(erased.ids, ['a1', 'u-new', 'u-old']);
    assert.equal(erased.eventsDeleted, 4);
    const left = await store.query(
      "SELECT count(*) FROM identities WHERE 'u-new' IN (distinct_id, person_id) OR distinct_id = 'a1'",
    );
    assert.deepEqual(left.rows, [[0]]);
  });
});
