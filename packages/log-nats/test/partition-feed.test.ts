import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { LogRecord } from '@tracklane/log';
import { waitFor } from '@tracklane/test-utils';
import { PartitionFeed } from '../src/partition-feed.ts';

const stored: LogRecord[] = Array.from({ length: 6 }, (_, offset) => ({
  topic: 't',
  partition: 0,
  offset,
  key: null,
  value: Buffer.from(String(offset)),
  headers: {},
  timestamp: 0,
}));

describe('PartitionFeed without a consumer', () => {
  it('reads the partition by sequence, from its cursor on, while no consumer can be created', async () => {
    // A cluster whose meta leader is being elected: every consumer create times out (a test double; the
    // node-loss test runs the real thing). The stream's leader still answers gets by sequence.
    const timeout = Object.assign(new Error('timeout'), { name: 'TimeoutError' });
    let creates = 0;
    const js = {
      consumers: {
        get: async () => {
          creates++;
          throw timeout;
        },
      },
    } as unknown as JetStreamClient;
    const feed = new PartitionFeed(
      js,
      'tl_t_0',
      't',
      0,
      2,
      () => undefined,
      async () => stored.length,
      async (from, count) => stored.slice(from, from + count),
    );
    try {
      await waitFor(() => feed.available === 4, { timeoutMs: 5_000, what: 'offsets 2..5 by sequence' });
      const out: LogRecord[] = [];
      feed.take(out, 100, 1 << 20);
      assert.deepEqual(
        out.map((r) => r.offset),
        [2, 3, 4, 5],
      );
      assert.ok(creates >= 1, 'a consumer was tried first');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(feed.available, 0, 'nothing is read twice while consumers keep failing');
    } finally {
      feed.stop();
    }
  });
});
