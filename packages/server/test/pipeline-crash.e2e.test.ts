import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeTempDir, startTracklaneProcess, type TracklaneProcess, waitFor } from '@tracklane/test-utils';

const TOTAL = 10_000;
const BATCH = 100;
const SENDERS = 4;

function makeBatch(index: number): { batch: unknown[] } {
  const batch = [];
  for (let i = 0; i < BATCH; i++) {
    const n = index * BATCH + i;
    batch.push({
      type: 'track',
      event: `Event ${n % 7}`,
      messageId: `m-${n}`,
      anonymousId: `anon-${n % 313}`,
      properties: { n, plan: n % 2 === 0 ? 'free' : 'pro' },
      timestamp: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    });
  }
  return { batch };
}

describe('the one-process pipeline under kill -9', () => {
  it('stores every acknowledged event exactly once across a crash mid-ingest', async () => {
    await using dir = await makeTempDir();
    let server: TracklaneProcess = await startTracklaneProcess({ dataDir: dir.path });
    const port = server.port;
    const acked = new Set<number>();
    const batches = TOTAL / BATCH;
    let next = 0;
    let crashed = false;

    // Senders behave like a real SDK: a batch that got no 200 is retried, with the same messageIds.
    const sender = async () => {
      for (;;) {
        const index = next++;
        if (index >= batches) return;
        for (;;) {
          try {
            const response = await server.send('/v1/batch', makeBatch(index));
            if (response.status === 200) {
              acked.add(index);
              break;
            }
            await response.body?.cancel();
          } catch {
            // Connection refused or reset while the server is down: retry after a pause.
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const crasher = (async () => {
      await waitFor(() => acked.size >= batches / 3, { timeoutMs: 60_000, what: 'a third of the batches' });
      const ackedBeforeCrash = new Set(acked);
      await server.kill();
      crashed = true;
      server = await startTracklaneProcess({ dataDir: dir.path, port });
      return ackedBeforeCrash;
    })();
    await Promise.all(Array.from({ length: SENDERS }, sender));
    const ackedBeforeCrash = await crasher;
    assert.ok(crashed, 'the server was killed during ingest');
    assert.ok(ackedBeforeCrash.size > 0 && ackedBeforeCrash.size < batches, 'the crash happened mid-ingest');

    try {
      await waitFor(
        async () => {
          const { rows } = await server.sql('SELECT count(*) FROM events');
          return rows[0]![0] === TOTAL;
        },
        { timeoutMs: 60_000, what: 'all events stored' },
      );
      const { rows } = await server.sql(
        `SELECT count(*), count(DISTINCT message_id), min(CAST(json_extract(properties, '$.n') AS INT)),
                max(CAST(json_extract(properties, '$.n') AS INT)) FROM events`,
      );
      assert.deepEqual(rows[0], [TOTAL, TOTAL, 0, TOTAL - 1]);
      // Every batch acknowledged before the crash survived it, field for field.
      const sample = [...ackedBeforeCrash].slice(0, 5);
      for (const index of sample) {
        const n = index * BATCH + 17;
        const result = await server.sql(
          `SELECT type, event, anonymous_id, strftime(timestamp, '%Y-%m-%dT%H:%M:%S') FROM events WHERE message_id = 'm-${n}'`,
        );
        assert.deepEqual(result.rows, [
          [
            'track',
            `Event ${n % 7}`,
            `anon-${n % 313}`,
            new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString().slice(0, 19),
          ],
        ]);
      }
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('shuts down cleanly on SIGTERM and resumes without duplicates', async () => {
    await using dir = await makeTempDir();
    const first = await startTracklaneProcess({ dataDir: dir.path });
    assert.equal((await first.send('/v1/batch', makeBatch(0))).status, 200);
    await waitFor(async () => (await first.sql('SELECT count(*) FROM events')).rows[0]![0] === BATCH);
    assert.equal(await first.stop(), 0);

    const second = await startTracklaneProcess({ dataDir: dir.path, port: first.port });
    try {
      assert.equal((await second.send('/v1/batch', makeBatch(1))).status, 200);
      // A client retrying a batch it already delivered must not create duplicates.
      assert.equal((await second.send('/v1/batch', makeBatch(0))).status, 200);
      await waitFor(async () => (await second.sql('SELECT count(*) FROM events')).rows[0]![0] === 2 * BATCH);
      await new Promise((r) => setTimeout(r, 500));
      const { rows } = await second.sql('SELECT count(*), count(DISTINCT message_id) FROM events');
      assert.deepEqual(rows[0], [2 * BATCH, 2 * BATCH]);
    } finally {
      assert.equal(await second.stop(), 0);
    }
  });
});
