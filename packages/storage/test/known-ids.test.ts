import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrackedEvent } from '@tracklane/core';
import { DuckDbStore } from '@tracklane/storage';
import { KnownIds } from '../src/duckdb/known-ids.ts';

const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;
const event = (id: string, minute: number, fields: Partial<TrackedEvent> & { previousId?: string }) =>
  ({
    messageId: id,
    type: 'track',
    event: 'Seen',
    timestamp: at(minute),
    receivedAt: at(minute),
    sourceId: 'src',
    ...fields,
  }) as TrackedEvent;
const alias = (id: string, minute: number, previousId: string, userId: string) =>
  event(id, minute, { type: 'alias', previousId, userId } as Partial<TrackedEvent>);

describe('KnownIds', () => {
  it('names only the ids a batch would link and that are not known linked', () => {
    const known = new KnownIds();
    const batch = [
      event('1', 1, { anonymousId: 'a', userId: 'u' }),
      event('2', 1, { anonymousId: 'u', userId: 'u' }),
      event('3', 1, { anonymousId: 'b' }),
      alias('4', 1, 'p', 'u'),
      event('5', 1, { userId: 'u', previousId: 'not-an-alias' } as Partial<TrackedEvent>),
    ];
    assert.deepEqual(known.unlinked(batch), ['a', 'p']);
    known.addLinked(['a']);
    assert.deepEqual(known.unlinked(batch), ['p']);
    known.forgetLinked();
    assert.deepEqual(known.unlinked(batch), ['a', 'p']);
  });

  it('sees an erased id in any id field, and learns the ids an erased user reveals', () => {
    const known = new KnownIds();
    assert.equal(known.touchesTombstoned([event('1', 1, { userId: 'gone' })]), false);
    known.addTombstoned(['gone']);
    assert.equal(known.touchesTombstoned([event('1', 1, { userId: 'gone' })]), true);
    assert.equal(known.touchesTombstoned([event('1', 1, { anonymousId: 'gone' })]), true);
    assert.equal(known.touchesTombstoned([alias('1', 1, 'gone', 'x')]), true);
    assert.equal(known.touchesTombstoned([event('1', 1, { anonymousId: 'device' })]), false);
    known.learnRevealed([event('2', 1, { anonymousId: 'device', userId: 'gone' })]);
    assert.equal(known.touchesTombstoned([event('3', 1, { anonymousId: 'device' })]), true);
  });
});

describe('the DuckDB store skipping statements for ids it knows', () => {
  it('does not remember a link dropped as a loop: that id still links later', async () => {
    const store = await DuckDbStore.open(':memory:');
    try {
      await store.insertEvents([alias('e1', 1, 'p', 'q')]);
      // q -> p would close a loop (p already leads to q): dropped, q stays unlinked.
      await store.insertEvents([alias('e2', 2, 'q', 'p')]);
      // So q can still be linked, and p, which points at q, follows it.
      await store.insertEvents([alias('e3', 3, 'q', 'r')]);
      const rows = (await store.query('SELECT distinct_id, person_id FROM identities ORDER BY 1')).rows;
      assert.deepEqual(rows, [
        ['p', 'r'],
        ['q', 'r'],
      ]);
    } finally {
      await store.close();
    }
  });

  it('keeps first links first when a later batch repeats them with another person', async () => {
    const store = await DuckDbStore.open(':memory:');
    try {
      await store.insertEvents([event('e1', 1, { anonymousId: 'd', userId: 'm1' })]);
      await store.insertEvents([event('e2', 2, { anonymousId: 'd', userId: 'm2' })]);
      const rows = (await store.query('SELECT distinct_id, person_id FROM identities ORDER BY 1')).rows;
      assert.deepEqual(rows, [['d', 'm1']]);
    } finally {
      await store.close();
    }
  });

  it('keeps out the events of an id revealed by an erased user, in later batches and after reopening', async () => {
    const { makeTempDir } = await import('@tracklane/test-utils');
    const dir = await makeTempDir('known-ids-');
    const path = `${dir.path}/db.duckdb`;
    try {
      let store = await DuckDbStore.open(path);
      await store.insertEvents([event('e1', 1, { userId: 'gone' })]);
      await store.eraseUser('gone');
      // A late event of the erased user reveals the device id 'phone': it is erased too.
      await store.insertEvents([event('e2', 2, { anonymousId: 'phone', userId: 'gone' })]);
      await store.insertEvents([event('e3', 3, { anonymousId: 'phone' })]);
      const count = async () =>
        (await store.query("SELECT count(*) FROM events WHERE 'phone' IN (anonymous_id, user_id)")).rows;
      assert.deepEqual(await count(), [[0]]);
      await store.close();
      store = await DuckDbStore.open(path);
      await store.insertEvents([event('e4', 4, { anonymousId: 'phone' })]);
      assert.deepEqual(await count(), [[0]]);
      assert.deepEqual((await store.query('SELECT count(*) FROM events')).rows, [[0]]);
      await store.close();
    } finally {
      await dir.remove();
    }
  });
});
