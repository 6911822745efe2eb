import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeTempDir, startTracklaneProcess, waitFor } from '@tracklane/test-utils';

const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('tracklane start --retention --export-dir', () => {
  it('deletes raw events past retention and writes each closed day as Parquet', async () => {
    await using dir = await makeTempDir();
    const lake = join(dir.path, 'lake');
    const args = { dataDir: join(dir.path, 'data'), extraArgs: ['--retention', '30d', '--export-dir', lake] };
    const now = Date.now();
    const first = await startTracklaneProcess(args);
    const batch = [now - 100 * DAY, now - 2 * DAY, now - DAY, now].map((t, i) => ({
      type: 'track',
      event: 'Tick',
      userId: 'u',
      messageId: `tick-${i}`,
      timestamp: new Date(t).toISOString(),
    }));
    assert.equal((await first.send('/v1/batch', { batch })).status, 200);
    await waitFor(async () => (await first.sql('SELECT count(*) FROM events')).rows[0]![0] === 4);
    assert.equal(await first.stop(), 0);

    // Both schedules run at start, then hourly.
    const second = await startTracklaneProcess(args);
    try {
      await waitFor(
        async () =>
          (await second.sql("SELECT count(*) FROM events WHERE message_id = 'tick-0'")).rows[0]![0] === 0,
        { what: 'retention to delete the 100-day-old event' },
      );
      const yesterday = day(now - DAY);
      await waitFor(
        async () =>
          (await readFile(join(lake, '_exported_through'), 'utf8').catch(() => '')).trim() === yesterday,
        {
          what: 'the daily export to reach yesterday',
        },
      );
      const partitions = await readdir(lake);
      assert.ok(partitions.includes(`date=${day(now - 2 * DAY)}`), partitions.join());
      assert.ok(partitions.includes(`date=${yesterday}`), partitions.join());
      assert.ok(!partitions.includes(`date=${day(now)}`), 'today is not closed yet');
      assert.deepEqual((await second.sql('SELECT count(*) FROM events')).rows, [[3]]);
    } finally {
      await second.stop();
    }
  });
});
