import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { TrackedEvent } from '@tracklane/core';
import { DuckDbStore, ParquetDayWriter } from '@tracklane/storage';
import { makeTempDir } from '@tracklane/test-utils';

describe('ParquetDayWriter', () => {
  it('writes one Hive partition per UTC day that reads back as the stored events', async () => {
    await using dir = await makeTempDir();
    const store = await DuckDbStore.open(':memory:');
    const event = (id: string, timestamp: string) =>
      ({
        type: 'track',
        event: 'E',
        messageId: id,
        userId: 'u',
        timestamp,
        receivedAt: timestamp,
        sourceId: 's',
        properties: { n: id },
      }) as TrackedEvent;
    await store.insertEvents([
      event('1', '2026-01-01T23:59:59Z'),
      event('2', '2026-01-02T00:00:00Z'),
      event('3', '2026-01-02T12:00:00Z'),
      event('4', '2026-01-03T00:00:00Z'),
    ]);
    const out = join(dir.path, 'lake');
    const writer = await ParquetDayWriter.open(out);
    for await (const batch of store.scanEvents({ to: Date.parse('2026-01-03T00:00:00Z') }, 2))
      await writer.write(batch);
    assert.deepEqual(await writer.close(), ['2026-01-01', '2026-01-02']);
    await store.close();
    assert.deepEqual((await readdir(out)).sort(), ['date=2026-01-01', 'date=2026-01-02']);
    const reader = await (await DuckDBInstance.create(':memory:')).connect();
    const rows = await reader.runAndReadAll(
      `SELECT message_id, CAST(date AS VARCHAR), strftime(timestamp, '%H:%M:%S'), json_extract_string(properties, '$.n')
       FROM read_parquet('${out}/*/*.parquet', hive_partitioning = true) ORDER BY message_id`,
    );
    assert.deepEqual(rows.getRowsJS(), [
      ['1', '2026-01-01', '23:59:59', '1'],
      ['2', '2026-01-02', '00:00:00', '2'],
      ['3', '2026-01-02', '12:00:00', '3'],
    ]);
  });

  it('refuses an output path that would break out of the COPY statement', async () => {
    await assert.rejects(ParquetDayWriter.open("/tmp/x'; COPY"), { code: 'E_BAD_ARGUMENT' });
  });
});
