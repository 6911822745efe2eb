import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrackedEvent } from '@tracklane/core';
import { EndToEndLatency } from '../src/end-to-end-latency.ts';

const stored = (receivedAgoMs: number[], now: number) =>
  receivedAgoMs.map((ago) => ({ receivedAt: new Date(now - ago).toISOString() }) as TrackedEvent);

describe('end-to-end latency', () => {
  it('gives p50 and p99 of received -> stored over the window, forgetting older batches', () => {
    const latency = new EndToEndLatency(60_000);
    const now = 1_000_000;
    latency.record(stored([5_000, 5_000], now - 120_000), now - 120_000);
    latency.record(
      stored(
        Array.from({ length: 50 }, (_, i) => i + 1),
        now,
      ),
      now,
    );
    const summary = latency.summary(now);
    assert.equal(summary.samples, 50);
    assert.equal(summary.p50Ms, 26);
    assert.equal(summary.p99Ms, 50);
  });

  it('samples large batches instead of recording every event', () => {
    const latency = new EndToEndLatency();
    const now = Date.now();
    latency.record(stored(new Array(10_000).fill(10), now), now);
    assert.ok(latency.summary(now).samples <= 128);
  });

  it('has no figures before anything is stored', () => {
    assert.deepEqual(new EndToEndLatency().summary(), {
      p50Ms: null,
      p99Ms: null,
      maxMs: null,
      samples: 0,
      windowSeconds: 300,
    });
  });
});
