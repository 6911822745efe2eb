import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runFunnel, runTrends } from '@tracklane/analytics';
import type { TrackedEvent } from '@tracklane/core';
import type { Store } from '@tracklane/storage';
import { STORES, storeWith } from './stores.ts';

/**
 * Identity stitching through identify and alias chains, the same on every store: gina is seen anonymously
 * ('g-anon'), identified as 'gina', then aliased to 'gina-new' (a -> b -> c); hal's alias arrives before
 * the identify it extends; ivy's anonymous id is claimed by two users (first link wins); a loop (jo <-> kim)
 * is one person. Answers are written down by hand and must hold on each store.
 */
const at = (minute: number) => {
  const iso = `2026-04-01T10:${String(minute).padStart(2, '0')}:00Z`;
  return { timestamp: iso, receivedAt: iso, sourceId: 'src_test' };
};
const view = (id: string, minute: number, ids: { anonymousId?: string; userId?: string }) =>
  ({ type: 'track', event: 'Viewed', properties: {}, messageId: id, ...ids, ...at(minute) }) as TrackedEvent;
const buy = (id: string, minute: number, userId: string) =>
  ({ type: 'track', event: 'Bought', properties: {}, messageId: id, userId, ...at(minute) }) as TrackedEvent;
const identify = (id: string, minute: number, anonymousId: string, userId: string) =>
  ({ type: 'identify', traits: {}, messageId: id, anonymousId, userId, ...at(minute) }) as TrackedEvent;
const alias = (id: string, minute: number, previousId: string, userId: string) =>
  ({ type: 'alias', messageId: id, previousId, userId, ...at(minute) }) as TrackedEvent;

const FIRST: TrackedEvent[] = [
  view('g1', 1, { anonymousId: 'g-anon' }),
  identify('g2', 2, 'g-anon', 'gina'),
  // hal: the alias (hal -> hal-new) lands in the first batch, the identify (h-anon -> hal) in the second.
  alias('h3', 5, 'hal', 'hal-new'),
  view('i1', 1, { anonymousId: 'i-anon' }),
  identify('i2', 2, 'i-anon', 'ivy'),
  view('j1', 1, { userId: 'jo' }),
];
const SECOND: TrackedEvent[] = [
  alias('g3', 3, 'gina', 'gina-new'),
  buy('g4', 4, 'gina-new'),
  view('h1', 1, { anonymousId: 'h-anon' }),
  identify('h2', 2, 'h-anon', 'hal'),
  buy('h4', 6, 'hal-new'),
  identify('i3', 3, 'i-anon', 'ian'),
  buy('i4', 4, 'ian'),
  alias('j2', 2, 'jo', 'kim'),
  alias('j3', 3, 'kim', 'jo'),
  buy('j4', 4, 'kim'),
];
const RANGE = { from: '2026-04-01T00:00:00Z', to: '2026-04-02T00:00:00Z' };

for (const kind of STORES) {
  describe(`identity stitching on ${kind.name}`, { skip: kind.skip }, () => {
    // One store per engine (chDB allows one data directory per process); the erasure test runs last.
    let store: Store;
    before(async () => {
      store = await storeWith(kind, FIRST, SECOND);
    });

    it('counts each person once across identify and alias chains, whatever order links arrive in', async () => {
      // Viewed: gina (anon), hal (anon), ivy (anon), jo. Bought: gina-new, hal-new, ian, kim.
      const viewers = await runTrends(store, { event: 'Viewed', ...RANGE, measure: 'unique_users' });
      assert.equal(viewers.series[0]!.total, 4);
      // Everyone who viewed later bought, under another id, except ivy's anonymous views, which stay
      // hers: 'i-anon' was hers first, so ian's purchase is another person's.
      const funnel = await runFunnel(store, { steps: [{ event: 'Viewed' }, { event: 'Bought' }], ...RANGE });
      assert.deepEqual(
        funnel.breakdowns[0]!.steps.map((s) => s.count),
        [4, 3],
      );
      // gina-new, hal-new, ivy and ian: an identify belongs to its user id, and ian stays ian.
      const people = await runTrends(store, { event: '$identify', ...RANGE, measure: 'unique_users' });
      assert.equal(people.series[0]!.total, 4);
      const links = await store.query('SELECT distinct_id, person_id FROM identities ORDER BY distinct_id');
      assert.deepEqual(links.rows, [
        ['g-anon', 'gina-new'],
        ['gina', 'gina-new'],
        ['h-anon', 'hal-new'],
        ['hal', 'hal-new'],
        ['i-anon', 'ivy'],
        ['jo', 'kim'],
      ]);
    });

    it('erases the whole person from any of their ids', async () => {
      const erased = await store.eraseUser('gina');
      assert.deepEqual(erased.ids, ['g-anon', 'gina', 'gina-new']);
      assert.equal(erased.eventsDeleted, 4);
      const left = await store.query(
        "SELECT count(*) FROM identities WHERE person_id = 'gina-new' OR distinct_id IN ('g-anon', 'gina')",
      );
      assert.deepEqual(left.rows, [[0]]);
    });
  });
}
