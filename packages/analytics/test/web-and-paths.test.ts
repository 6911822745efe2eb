import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runPaths, runWebStats } from '@tracklane/analytics';
import type { Store } from '@tracklane/storage';
import { PEOPLE } from './dataset.ts';
import { STORES, storeWith } from './stores.ts';

const MARCH = { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z' };

// The same written-down answers on every store.
for (const kind of STORES) {
  describe(`paths and web stats on ${kind.name}`, { skip: kind.skip }, () => {
    let store: Store;
    before(async () => {
      store = await storeWith(kind, PEOPLE);
    });

    describe('paths', () => {
      it('finds the most common next events within a session', async () => {
        const result = await runPaths(store, { anchor: 'Viewed Product', ...MARCH });
        // bob signed up an hour later: a new session, so his path ends.
        assert.deepEqual(result.paths, [
          { steps: ['Signed Up'], count: 2, people: 2 },
          { steps: ['$end'], count: 1, people: 1 },
        ]);
      });

      it('walks pages only when asked for pages', async () => {
        const result = await runPaths(store, { anchor: '/home', kind: 'pages', ...MARCH });
        assert.deepEqual(result.paths, [
          { steps: ['$end'], count: 1, people: 1 },
          { steps: ['/pricing'], count: 1, people: 1 },
        ]);
      });

      it('walks backwards for previous steps, two deep', async () => {
        const result = await runPaths(store, {
          anchor: 'Signed Up',
          direction: 'previous',
          depth: 2,
          ...MARCH,
        });
        assert.deepEqual(result.paths, [
          { steps: ['$end', '$end'], count: 2, people: 2 },
          { steps: ['Viewed Product', '$pageview'], count: 2, people: 2 },
        ]);
      });

      it('returns no paths for an unknown anchor', async () => {
        assert.deepEqual((await runPaths(store, { anchor: 'Nope', ...MARCH })).paths, []);
      });
    });

    describe('web stats', () => {
      it('summarises visitors, sessions, bounces and durations', async () => {
        const result = await runWebStats(store, MARCH);
        // Sessions: alice 2, bob 2 (an hour apart), carol 2, dave 1. Single-event sessions: 4 of 7.
        // Durations: 1800 + 60 + 360 seconds over 7 sessions.
        assert.deepEqual(
          {
            visitors: result.visitors,
            sessions: result.sessions,
            pageviews: result.pageviews,
            bounceRate: result.bounceRate,
            avgSessionSeconds: result.avgSessionSeconds,
          },
          { visitors: 4, sessions: 7, pageviews: 4, bounceRate: 0.5714, avgSessionSeconds: 317.1429 },
        );
      });

      it('ranks pages, referrers, campaigns, devices, browsers, systems and countries', async () => {
        const result = await runWebStats(store, MARCH);
        assert.deepEqual(result.topPages, [
          { path: '/home', pageviews: 2, visitors: 2 },
          { path: '/pricing', pageviews: 2, visitors: 2 },
        ]);
        const names = (list: { value: string; sessions: number }[]) => list.map((r) => [r.value, r.sessions]);
        assert.deepEqual(names(result.entryPages), [
          ['/home', 2],
          ['/pricing', 1],
        ]);
        assert.deepEqual(names(result.referrers), [
          ['$direct', 5],
          ['news.ycombinator.com', 1],
          ['www.google.com', 1],
        ]);
        assert.deepEqual(names(result.utmSources), [['newsletter', 1]]);
        assert.deepEqual(names(result.utmCampaigns), [['spring', 1]]);
        assert.deepEqual(names(result.devices), [
          ['desktop', 2],
          ['mobile', 1],
        ]);
        assert.deepEqual(names(result.browsers), [
          ['Safari', 2],
          ['Chrome', 1],
        ]);
        assert.deepEqual(names(result.os), [
          ['Windows', 1],
          ['iOS', 1],
          ['macOS', 1],
        ]);
        assert.deepEqual(names(result.countries), [
          ['FR', 2],
          ['US', 1],
        ]);
      });

      it('is all zeros and empty lists for an empty range', async () => {
        const result = await runWebStats(store, { from: '2020-01-01T00:00:00Z', to: '2020-01-02T00:00:00Z' });
        assert.equal(result.sessions, 0);
        assert.equal(result.visitors, 0);
        assert.deepEqual(result.topPages, []);
        assert.deepEqual(result.browsers, []);
      });
    });
  });
}
