import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tracklane } from '@tracklane/node';
import { freePort, makeTempDir, tracklaneService, waitFor } from '@tracklane/test-utils';

describe('Tracklane (node) against a rate-limited and a stopped `tracklane start`', () => {
  it('retries 429s from the real collector, honouring Retry-After, until every event is stored once', async () => {
    await using dir = await makeTempDir();
    // 100 events/s per write key with a 2 s burst: 600 events cannot all pass at once.
    const server = tracklaneService({
      port: await freePort(),
      dataDir: dir.path,
      writeKey: 'wk_limits',
      apiKey: 'ak_limits',
      extraArgs: ['--rate-limit-key', '100'],
    });
    await server.start();
    const attempts: { status: number; at: number; retryAfter: string | null }[] = [];
    const recordingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      attempts.push({
        status: response.status,
        at: Date.now(),
        retryAfter: response.headers.get('retry-after'),
      });
      return response;
    };
    try {
      const client = new Tracklane({
        writeKey: 'wk_limits',
        host: server.url,
        maxBatchSize: 100,
        flushAt: 100,
        backoff: { minMs: 20, maxMs: 200 },
        maxRetries: 100,
        fetch: recordingFetch,
        warn: () => {},
      });
      for (let i = 0; i < 600; i++)
        client.track({ userId: `u${i % 7}`, event: 'Limited', properties: { i } });
      await client.close();

      const limited = attempts.findIndex((a) => a.status === 429);
      assert.ok(limited >= 0, `the collector answered 429 at least once: ${attempts.map((a) => a.status)}`);
      const retryAfterMs = Number(attempts[limited]!.retryAfter) * 1000;
      assert.ok(retryAfterMs >= 1000, 'a 429 carries Retry-After in seconds');
      const next = attempts[limited + 1]!;
      assert.ok(next.at - attempts[limited]!.at >= retryAfterMs - 50, 'the retry waited for Retry-After');

      const rows = await waitFor(
        async () => {
          const [r] = await server.sql<{ n: number; d: number }>(
            "SELECT count(*) AS n, count(DISTINCT message_id) AS d FROM events WHERE event = 'Limited'",
          );
          return r && r.n === 600 ? r : undefined;
        },
        { timeoutMs: 30_000, what: '600 stored events' },
      );
      assert.deepEqual(rows, { n: 600, d: 600 });
    } finally {
      await server.stop();
    }
  });

  it('keeps only the newest maxQueueSize events while the collector is down, then delivers them', async () => {
    await using dir = await makeTempDir();
    const server = tracklaneService({
      port: await freePort(),
      dataDir: dir.path,
      writeKey: 'wk_q',
      apiKey: 'ak_q',
    });
    const dropped: number[] = [];
    const client = new Tracklane({
      writeKey: 'wk_q',
      host: server.url,
      maxQueueSize: 50,
      flushAt: 1_000,
      flushInterval: 60_000,
      backoff: { minMs: 50, maxMs: 200 },
      maxRetries: 1_000,
      onDrop: (events, reason) => {
        if (reason === 'queue-full')
          for (const e of events) dropped.push((e as unknown as { properties: { i: number } }).properties.i);
      },
      warn: () => {},
    });
    // The server is not running yet: these queue, and the 30 oldest are dropped to keep the bound.
    for (let i = 0; i < 80; i++) client.track({ userId: 'q', event: 'Queued', properties: { i } });
    assert.deepEqual(
      dropped,
      Array.from({ length: 30 }, (_, i) => i),
    );
    assert.equal(client.queued, 50);
    await server.start();
    try {
      await client.close();
      await waitFor(async () => {
        const [r] = await server.sql<{ n: number }>(
          "SELECT count(*) AS n FROM events WHERE event = 'Queued'",
        );
        return r?.n === 50;
      });
      const [final] = await server.sql<{ lo: number; hi: number; n: number }>(
        "SELECT min(CAST(json_extract(properties, '$.i') AS INT)) AS lo, max(CAST(json_extract(properties, '$.i') AS INT)) AS hi, count(*) AS n FROM events WHERE event = 'Queued'",
      );
      assert.deepEqual(final, { lo: 30, hi: 79, n: 50 });
    } finally {
      await server.stop();
    }
  });
});
