import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runFunnel, runRetention, runTrends } from '@tracklane/analytics';
import type { Store } from '@tracklane/storage';
import { PEOPLE } from './dataset.ts';
import { STORES, storeWith } from './stores.ts';

const MARCH = { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z' };

const values = (series: { data: { value: number }[] }) => series.data.map((d) => d.value);

// The same written-down answers on every store.
for (const kind of STORES) {
  describe(`analytics queries on ${kind.name}`, { skip: kind.skip }, () => {
    let store: Store;
    before(async () => {
      // Two batches, the identify in the second: stitching must not depend on arrival order within a batch.
      store = await storeWith(kind, PEOPLE.slice(0, 2), PEOPLE.slice(2));
    });

    describe('trends', () => {
      it('counts an event per day in UTC, zero-filling empty days', async () => {
        const result = await runTrends(store, {
          event: 'Signed Up',
          from: '2026-03-01T00:00:00Z',
          to: '2026-03-06T00:00:00Z',
          interval: 'day',
        });
        assert.equal(result.series.length, 1);
        assert.deepEqual(result.series[0]!.data, [
          { bucket: '2026-03-01T00:00:00', value: 0 },
          { bucket: '2026-03-02T00:00:00', value: 1 },
          { bucket: '2026-03-03T00:00:00', value: 2 },
          { bucket: '2026-03-04T00:00:00', value: 1 },
          { bucket: '2026-03-05T00:00:00', value: 0 },
        ]);
        assert.equal(result.series[0]!.total, 4);
      });

      it('buckets by local days in the requested time zone', async () => {
        // Bob's 00:30 UTC signup is 19:30 on the 2nd in New York.
        const result = await runTrends(store, {
          event: 'Signed Up',
          from: '2026-03-02T05:00:00Z',
          to: '2026-03-05T05:00:00Z',
          interval: 'day',
          timezone: 'America/New_York',
        });
        assert.deepEqual(result.series[0]!.data, [
          { bucket: '2026-03-02T00:00:00', value: 2 },
          { bucket: '2026-03-03T00:00:00', value: 1 },
          { bucket: '2026-03-04T00:00:00', value: 1 },
        ]);
      });

      it('counts unique people, an anonymous visitor and their identified self as one', async () => {
        const result = await runTrends(store, {
          event: 'Viewed Product',
          ...MARCH,
          interval: 'month',
          measure: 'unique_users',
          filters: [{ property: 'user_id', operator: 'is_not_set' }],
        });
        // Only alice's and carol's views were anonymous; stitched, they are two people.
        assert.deepEqual(values(result.series[0]!), [2]);
        const all = await runTrends(store, {
          event: '$pageview',
          ...MARCH,
          interval: 'month',
          measure: 'unique_users',
        });
        assert.deepEqual(values(all.series[0]!), [3]);
      });

      it('sums and averages a numeric property per week', async () => {
        const range = { from: '2026-03-02T00:00:00Z', to: '2026-03-23T00:00:00Z', interval: 'week' as const };
        const sum = await runTrends(store, {
          event: 'Purchased',
          ...range,
          measure: 'sum',
          property: 'amount',
        });
        assert.deepEqual(values(sum.series[0]!), [30, 20, 50]);
        assert.equal(sum.series[0]!.total, 100);
        const avg = await runTrends(store, {
          event: 'Purchased',
          ...range,
          measure: 'avg',
          property: 'properties.amount',
        });
        assert.equal(avg.series[0]!.total, 100 / 3);
      });

      it('breaks down by a property and filters on another', async () => {
        const result = await runTrends(store, {
          event: 'Signed Up',
          ...MARCH,
          interval: 'month',
          breakdown: 'plan',
        });
        assert.deepEqual(
          result.series.map((s) => [s.breakdown, s.total]),
          [
            ['free', 2],
            ['pro', 2],
          ],
        );
        const filtered = await runTrends(store, {
          event: 'Purchased',
          ...MARCH,
          interval: 'month',
          filters: [{ property: 'amount', operator: 'gte', value: 30 }],
        });
        assert.deepEqual(values(filtered.series[0]!), [2]);
      });

      it('returns a zero series when nothing matches', async () => {
        const result = await runTrends(store, {
          event: 'Never Happened',
          from: '2026-03-01T00:00:00Z',
          to: '2026-03-03T00:00:00Z',
        });
        assert.deepEqual(result.series, [
          {
            breakdown: null,
            total: 0,
            data: [
              { bucket: '2026-03-01T00:00:00', value: 0 },
              { bucket: '2026-03-02T00:00:00', value: 0 },
            ],
          },
        ]);
      });
    });

    describe('funnels', () => {
      const steps = (...events: string[]) => events.map((event) => ({ event }));

      it('follows ordered steps across the anonymous-to-identified switch, within the window', async () => {
        const result = await runFunnel(store, {
          steps: steps('Viewed Product', 'Signed Up', 'Purchased'),
          ...MARCH,
          conversionWindowSeconds: 86_400,
        });
        const [funnel] = result.breakdowns;
        assert.deepEqual(
          funnel!.steps.map((s) => [s.count, s.conversionRate, s.medianSecondsFromPrevious]),
          [
            [3, 1, null],
            [3, 1, 360], // alice 6 min, bob 60 min, carol 5 min
            [1, 0.3333, 1140], // alice 19 min after signing up; carol's purchase is 17 days later
          ],
        );
      });

      it('counts a late conversion when the window is long enough', async () => {
        const result = await runFunnel(store, {
          steps: steps('Viewed Product', 'Signed Up', 'Purchased'),
          ...MARCH,
          conversionWindowSeconds: 30 * 86_400,
        });
        const last = result.breakdowns[0]!.steps[2]!;
        assert.equal(last.count, 2);
        assert.equal(last.stepConversionRate, 0.6667);
        assert.equal(last.medianSecondsFromPrevious, (1140 + (17 * 86_400 - 300)) / 2);
      });

      it('in strict order, any other event between steps breaks the chain', async () => {
        const result = await runFunnel(store, {
          steps: steps('Viewed Product', 'Signed Up'),
          ...MARCH,
          order: 'strict',
        });
        // alice identified between viewing and signing up.
        assert.deepEqual(
          result.breakdowns[0]!.steps.map((s) => s.count),
          [3, 2],
        );
      });

      it('in any order, steps may happen in reverse', async () => {
        const ordered = await runFunnel(store, { steps: steps('Signed Up', 'Viewed Product'), ...MARCH });
        assert.deepEqual(
          ordered.breakdowns[0]!.steps.map((s) => s.count),
          [4, 0],
        );
        const any = await runFunnel(store, {
          steps: steps('Signed Up', 'Viewed Product'),
          ...MARCH,
          order: 'any',
        });
        assert.deepEqual(
          any.breakdowns[0]!.steps.map((s) => s.count),
          [4, 3],
        );
      });

      it('breaks down by a property of the first step, with per-step filters', async () => {
        const result = await runFunnel(store, {
          steps: [
            { event: 'Signed Up' },
            { event: 'Purchased', filters: [{ property: 'amount', operator: 'gt', value: 0 }] },
          ],
          ...MARCH,
          conversionWindowSeconds: 86_400,
          breakdown: 'plan',
        });
        assert.deepEqual(
          result.breakdowns.map((b) => [b.breakdown, ...b.steps.map((s) => s.count)]),
          [
            ['free', 2, 0],
            ['pro', 2, 1],
          ],
        );
      });

      it('returns zeros when nobody starts', async () => {
        const result = await runFunnel(store, { steps: steps('Nope', 'Signed Up'), ...MARCH });
        assert.deepEqual(
          result.breakdowns[0]!.steps.map((s) => [s.count, s.conversionRate]),
          [
            [0, 0],
            [0, 0],
          ],
        );
      });
    });

    describe('retention', () => {
      it('counts people of a weekly signup cohort who purchase in later weeks', async () => {
        const result = await runRetention(store, {
          startEvent: 'Signed Up',
          returnEvent: 'Purchased',
          from: '2026-03-02T00:00:00Z',
          to: '2026-03-23T00:00:00Z',
          period: 'week',
        });
        // Alice's same-week purchase is week 0; she is back in week 1, carol in week 2.
        assert.deepEqual(result.cohorts, [{ cohort: '2026-03-02T00:00:00', size: 4, values: [4, 1, 1] }]);
      });

      it('uses local days for daily cohorts', async () => {
        const result = await runRetention(store, {
          startEvent: 'Viewed Product',
          returnEvent: 'Signed Up',
          from: '2026-03-02T05:00:00Z',
          to: '2026-03-05T05:00:00Z',
          period: 'day',
          timezone: 'America/New_York',
        });
        // In New York bob viewed and signed up on the same evening (day 0); in UTC he would be back on day 1.
        assert.deepEqual(result.cohorts, [
          { cohort: '2026-03-02T00:00:00', size: 2, values: [2, 0, 0] },
          { cohort: '2026-03-03T00:00:00', size: 1, values: [1, 0] },
        ]);
        const utc = await runRetention(store, {
          startEvent: 'Viewed Product',
          returnEvent: 'Signed Up',
          from: '2026-03-02T00:00:00Z',
          to: '2026-03-05T00:00:00Z',
          period: 'day',
        });
        assert.deepEqual(utc.cohorts[0], { cohort: '2026-03-02T00:00:00', size: 2, values: [2, 1, 0] });
      });

      it('returns no cohorts when nobody starts', async () => {
        const result = await runRetention(store, { startEvent: 'Nope', returnEvent: 'Purchased', ...MARCH });
        assert.deepEqual(result.cohorts, []);
      });
    });
  });
}
