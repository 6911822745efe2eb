import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { makeTempDir, startTracklaneProcess } from '@tracklane/test-utils';
import autocannon from 'autocannon';

const batch = JSON.stringify({
  batch: Array.from({ length: 100 }, (_, i) => ({
    type: 'track',
    event: 'Load',
    anonymousId: `a-${i}`,
    properties: { i },
  })),
});

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

describe('overload over real HTTP', () => {
  it('answers 429/503 under overload, keeps memory bounded, and recovers', async () => {
    await using dir = await makeTempDir();
    // Small limits so that two shared cores can overload it: 300 events in flight, 3000 events/s per key.
    const server = await startTracklaneProcess({
      dataDir: dir.path,
      extraArgs: ['--max-in-flight', '300', '--rate-limit-key', '3000', '--rate-limit-ip', '0'],
    });
    try {
      const pid = server.child.pid!;
      const statuses = new Map<number, number>();
      const phase = () =>
        new Promise<void>((resolve, reject) => {
          const instance = autocannon(
            {
              url: `${server.url}/v1/batch`,
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                authorization: `Basic ${Buffer.from(`${server.writeKey}:`).toString('base64')}`,
              },
              body: batch,
              connections: 48,
              duration: 3,
            },
            (err) => (err ? reject(err) : resolve()),
          );
          instance.on('response', (_client, status) => {
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          });
          instance.on('reqError', () => statuses.set(-1, (statuses.get(-1) ?? 0) + 1));
        });
      let peak = 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssMb(pid));
      }, 100);
      await phase();
      const afterFirst = peak;
      await phase();
      clearInterval(sampler);
      const refused = (statuses.get(429) ?? 0) + (statuses.get(503) ?? 0);
      const ok = statuses.get(200) ?? 0;
      const other = [...statuses.entries()].filter(([s]) => ![200, 429, 503].includes(s));
      assert.ok(refused > 0, `expected 429/503 under overload, got ${JSON.stringify([...statuses])}`);
      assert.ok(ok > 0, 'some requests still succeed under overload');
      assert.deepEqual(other, [], 'no other statuses or connection errors');
      // A second identical overload must not need much more memory than the first: nothing queues up.
      assert.ok(peak < afterFirst + 80, `RSS grew from ${afterFirst.toFixed(0)} MB to ${peak.toFixed(0)} MB`);
      assert.ok(peak < 700, `RSS peaked at ${peak.toFixed(0)} MB`);

      // Load drops: the next request after the refill succeeds and the server is healthy.
      await new Promise((r) => setTimeout(r, 1_200));
      const response = await server.send('/v1/batch', {
        batch: [{ type: 'track', event: 'After', userId: 'u', messageId: 'after-load' }],
      });
      assert.equal(response.status, 200);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /tracklane_requests_refused_total\{reason="(rate_limit_key|overloaded)"\} [1-9]/);
      const refusal = await server.send('/v1/batch', JSON.parse(batch));
      assert.ok([200, 429, 503].includes(refusal.status));
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});
