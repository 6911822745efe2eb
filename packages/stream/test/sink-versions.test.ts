import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DuckDbStore } from '@tracklane/storage';
import { makeTempDir } from '@tracklane/test-utils';
import { count, decodeJson, from, startEngine, tumbling, type WindowResult } from '../src/index.ts';
import type { Sink, SinkContext } from '../src/sinks/sink.ts';
import { storeSink, versioned } from '../src/sinks/store-sink.ts';
import { drain, openLog } from './helpers.ts';

interface Ev {
  page: string;
  at: number;
}

const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);

describe('sink versions', () => {
  it('versions each result by the offsets it covers, so a re-delivered older result cannot overwrite it', async () => {
    await using dir = await makeTempDir();
    const log = await openLog(`${dir.path}/log`);
    const store = await DuckDbStore.open(`${dir.path}/tracklane.duckdb`);
    await log.ensureTopic('events', { partitions: 2 });
    const table = versioned({
      name: 'views',
      columns: [
        { name: 'minute', type: 'timestamp' },
        { name: 'page', type: 'string' },
        { name: 'n', type: 'int' },
      ],
      primaryKey: ['minute', 'page'],
    });
    const inner = storeSink(store, table, (r: WindowResult<string, number>) => ({
      minute: r.window.start,
      page: r.key,
      n: r.value,
    }));
    // Keeps what the engine wrote, to deliver an old write again the way a retried checkpoint would.
    const writes: Array<{ items: WindowResult<string, number>[]; context: SinkContext }> = [];
    const sink: Sink<WindowResult<string, number>> = {
      open: () => inner.open!(),
      async write(items, context) {
        writes.push({ items: [...items], context });
        await inner.write(items, context);
      },
    };
    const pipeline = from(log, 'events', decodeJson<Ev>, { eventTime: (e) => e.at })
      .keyBy((e) => e.page)
      .window(tumbling('1m'))
      .aggregate(count())
      .to(sink, { name: 'views' });
    const engine = await startEngine({
      log,
      pipelines: [pipeline],
      group: 'g',
      stateDir: `${dir.path}/state`,
      checkpointIntervalMs: 10,
    });
    const send = async (n: number) => {
      const records = Array.from({ length: n }, (_, i) => ({
        key: `k${i}`,
        value: Buffer.from(JSON.stringify({ page: '/home', at: T0 + i })),
      }));
      await log.append('events', records);
      await drain(engine);
    };
    const rows = async () =>
      (await store.query('SELECT page, n, version FROM views')).rows.map((r) => r.map((v) => String(v)));
    try {
      await send(3);
      await send(4);
      const ends = await log.offsets('events');
      const total = ends.reduce((sum, o) => sum + o.end, 0);
      assert.equal(total, 7);
      // Versions grow with the input, and the last one is the sum of the committed offsets.
      const versions = writes.map((w) => w.context.version);
      assert.deepEqual(
        versions,
        [...versions].sort((a, b) => a - b),
      );
      assert.equal(versions.at(-1), total);
      assert.deepEqual(await rows(), [['/home', '7', '7']]);

      // The first checkpoint's write arrives again, after the newer one (a retried, re-delivered write).
      const first = writes[0]!;
      assert.ok(first.items[0]!.value < 7);
      await inner.write(first.items, first.context);
      assert.deepEqual(await rows(), [['/home', '7', '7']]);
    } finally {
      await engine.stop();
      await store.close();
      await log.close();
    }
  });
});
