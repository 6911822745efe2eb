import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TrackedEvent } from '@tracklane/core';
import { DuckDbStore } from '@tracklane/storage';
import { BUILTIN_PIPELINES } from '@tracklane/stream';
import { applyRetention, DERIVED_RETENTION } from '../src/retention-schedule.ts';

const CUTOFF = Date.parse('2026-03-10T00:00:00Z');

const track = (id: string, timestamp: string) =>
  ({
    type: 'track',
    event: 'Viewed',
    properties: {},
    messageId: id,
    userId: 'u',
    timestamp,
    receivedAt: timestamp,
    sourceId: 'src',
  }) as TrackedEvent;

describe('retention', () => {
  let store: DuckDbStore;
  before(async () => {
    store = await DuckDbStore.open(':memory:');
    for (const p of BUILTIN_PIPELINES) await store.defineTable(p.table);
    await store.insertEvents([
      track('e-old', '2026-03-09T12:00:00Z'),
      track('e-new', '2026-03-10T00:00:00Z'),
    ]);
    const session = (id: string, start: string, end: string) => ({
      session_id: id,
      visitor_id: 'u',
      start_at: start,
      end_at: end,
      duration_ms: Date.parse(end) - Date.parse(start),
      event_count: 2,
      page_count: 0,
      bounce: false,
    });
    await store.upsert('sessions', [
      session('ended-before', '2026-03-09T23:00:00Z', '2026-03-09T23:59:00Z'),
      session('straddles', '2026-03-09T23:50:00Z', '2026-03-10T00:10:00Z'),
      session('after', '2026-03-11T08:00:00Z', '2026-03-11T08:30:00Z'),
    ]);
    const minute = (at: string) => ({ minute: at, type: 'track', event: 'Viewed', count: 1 });
    await store.upsert('event_counts_minute', [
      minute('2026-03-09T23:58:00Z'),
      minute('2026-03-09T23:59:00Z'),
      minute('2026-03-10T00:00:00Z'),
    ]);
    await store.upsert('unique_users_hour', [
      { hour: '2026-03-09T23:00:00Z', approx: 1 },
      { hour: '2026-03-10T00:00:00Z', approx: 1 },
    ]);
    await store.upsert('unique_users_day', [
      { day: '2026-03-09T00:00:00Z', approx: 1 },
      { day: '2026-03-10T00:00:00Z', approx: 1 },
    ]);
    await store.upsert('user_profiles', [
      { user_id: 'u', first_seen: '2026-01-01T00:00:00Z', last_seen: '2026-01-02T00:00:00Z' },
    ]);
    await store.insertDeadLetters([
      { id: 'dl-old', stage: 'collector', reason: 'validation', payload: '{}', failedAt: CUTOFF - 1 },
      { id: 'dl-new', stage: 'collector', reason: 'validation', payload: '{}', failedAt: CUTOFF },
    ]);
  });
  after(() => store.close());

  it('names only columns the built-in projections have', () => {
    for (const target of DERIVED_RETENTION) {
      if (target.table === 'dead_letters') continue;
      const projection = BUILTIN_PIPELINES.find((p) => p.table.name === target.table);
      assert.ok(projection, `${target.table} is a built-in projection`);
      assert.ok(projection.table.columns.some((c) => c.name === target.column && c.type === 'timestamp'));
    }
  });

  it('deletes raw events and the derived rows that describe only what is older than the cutoff', async () => {
    const run = await applyRetention(store, CUTOFF);
    // By hand: the 12:00 event; the session that ended at 23:59; minutes 23:58 and 23:59 (the last one ends
    // at the cutoff); hour 23:00 and day 03-09 (both end at the cutoff); the dead letter a ms before it.
    assert.deepEqual(run, {
      events: 1,
      derived: {
        sessions: 1,
        event_counts_minute: 2,
        unique_users_hour: 1,
        unique_users_day: 1,
        dead_letters: 1,
      },
    });
    const left = async (sql: string) => (await store.query(sql)).rows;
    assert.deepEqual(await left('SELECT message_id FROM events'), [['e-new']]);
    assert.deepEqual(await left('SELECT session_id FROM sessions ORDER BY 1'), [['after'], ['straddles']]);
    assert.deepEqual(await left("SELECT strftime(minute, '%H:%M') FROM event_counts_minute"), [['00:00']]);
    assert.deepEqual(await left("SELECT strftime(hour, '%d %H') FROM unique_users_hour"), [['10 00']]);
    assert.deepEqual(await left("SELECT strftime(day, '%d') FROM unique_users_day"), [['10']]);
    assert.deepEqual(await left('SELECT id FROM dead_letters'), [['dl-new']]);
    // Kept on purpose (see DERIVED_RETENTION): the profile lives on in the stream engine's state.
    assert.deepEqual(await left('SELECT user_id FROM user_profiles'), [['u']]);
  });

  it('deletes nothing more when run again', async () => {
    const run = await applyRetention(store, CUTOFF);
    assert.equal(run.events + Object.values(run.derived).reduce((a, b) => a + b, 0), 0);
  });
});
