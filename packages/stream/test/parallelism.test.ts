import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeTempDir, waitFor } from '@tracklane/test-utils';
import { count, decodeJson, from, type KeyedResult, type StreamEngine, startEngine } from '../src/index.ts';
import { openLog, upsertSink } from './helpers.ts';

interface Ev {
  user: string;
  n: number;
}

describe('parallelism', () => {
  it('splits partitions between engines of one group and rebalances without losing or doubling counts', async () => {
    await using dir = await makeTempDir();
    const log = await openLog(`${dir.path}/log`);
    await log.ensureTopic('in', { partitions: 4 });
    const append = (from: number, to: number) =>
      log.append(
        'in',
        Array.from({ length: to - from }, (_, i) => {
          const e: Ev = { user: `u${(from + i) % 10}`, n: from + i };
          return { key: e.user, value: Buffer.from(JSON.stringify(e)) };
        }),
      );
    const out = upsertSink<KeyedResult<string, number>>((r) => r.key);
    // Keys are counted across partitions on purpose: totals merge through the shared state.
    const pipeline = from(log, 'in', decodeJson<Ev>)
      .keyBy((e) => (e.n % 2 === 0 ? 'even' : 'odd'))
      .aggregate(count())
      .to(out, { name: 'parity' });
    const options = {
      log,
      pipelines: [pipeline],
      group: 'workers',
      stateDir: `${dir.path}/state`,
      maxPollRecords: 100,
      checkpointIntervalMs: 10,
    };
    await append(0, 3000);
    const a = await startEngine(options);
    await waitFor(() => a.stats().records > 500, { what: 'a to start' });
    const b = await startEngine(options);
    await append(3000, 6000);
    const engines: StreamEngine[] = [a, b];
    await waitFor(
      async () => {
        const lags = await Promise.all(engines.map((e) => e.lag()));
        return lags.every((l) => l === 0) && a.stats().partitions.length + b.stats().partitions.length === 4;
      },
      { timeoutMs: 30_000, what: 'both engines to drain' },
    );
    assert.equal(a.stats().partitions.length, 2);
    assert.equal(b.stats().partitions.length, 2);
    await b.stop();
    await append(6000, 7000);
    await waitFor(async () => a.stats().partitions.length === 4 && (await a.lag()) === 0, {
      timeoutMs: 30_000,
      what: 'a to take over',
    });
    await a.stop();
    await log.close();
    assert.equal(out.rows.get('even')?.value, 3500);
    assert.equal(out.rows.get('odd')?.value, 3500);
  });
});
