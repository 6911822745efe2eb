import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { makeTempDir } from '@tracklane/test-utils';
import { encodeEntryHeader, readEntry } from '../src/embedded/commit-log-entry.ts';
import { encodeBatch } from '../src/embedded/record-batch.ts';
import { EmbeddedLog } from '../src/index.ts';
import { commitLogFiles } from './fixtures/log-files.ts';
import { spyOnDatasync } from './fixtures/sync-spy.ts';

const value = (i: number) => Buffer.from(`value-${i}`);

describe('flush cycles across partitions', () => {
  it('makes appends to 4 partitions durable with one fdatasync, of the commit log', async () => {
    await using dir = await makeTempDir();
    const log = await EmbeddedLog.open(dir.path, { checkpointIntervalMs: 0 });
    await log.ensureTopic('t', { partitions: 4 });
    const spy = await spyOnDatasync(dir.path);
    try {
      const acks = await Promise.all(
        [0, 1, 2, 3].map((p) => log.append('t', [{ value: value(p) }], { partition: p })),
      );
      assert.deepEqual(
        acks.map((a) => a[0]),
        [0, 1, 2, 3].map((p) => ({ partition: p, offset: 0 })),
      );
      assert.equal(spy.paths.length, 1, `syncs: ${spy.paths.join(', ')}`);
      assert.match(spy.paths[0]!, /\/commit-log\/\d{20}\.wal$/);
    } finally {
      spy.restore();
    }
    const [wal] = await commitLogFiles(dir.path);
    assert.ok((await stat(wal!)).size > 0, 'the commit log holds the entries');
    for (let p = 0; p < 4; p++) {
      const [record] = await log.read('t', p, 0);
      assert.equal(record!.value.toString(), value(p).toString(), `partition ${p} is readable`);
    }
    await log.close();
  });

  it('shares one cycle among partitions of different topics', async () => {
    await using dir = await makeTempDir();
    const log = await EmbeddedLog.open(dir.path, { checkpointIntervalMs: 0 });
    await log.ensureTopic('a', { partitions: 2 });
    await log.ensureTopic('b', { partitions: 1 });
    const spy = await spyOnDatasync(dir.path);
    try {
      await Promise.all([
        log.append('a', [{ value: value(0) }, { value: value(1) }]),
        log.append('b', [{ value: value(2) }]),
      ]);
      assert.equal(spy.paths.length, 1, `syncs: ${spy.paths.join(', ')}`);
    } finally {
      spy.restore();
    }
    await log.close();
  });

  it('writes no commit-log bytes when a cycle has one dirty partition: its segment is synced', async () => {
    await using dir = await makeTempDir();
    const log = await EmbeddedLog.open(dir.path, { checkpointIntervalMs: 0 });
    await log.ensureTopic('one', { partitions: 1 });
    await log.ensureTopic('four', { partitions: 4 });
    const spy = await spyOnDatasync(dir.path);
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => log.append('one', [{ value: value(i) }])));
      await log.append('four', [{ value: value(0) }], { partition: 2 });
      assert.equal(spy.paths.length, 2, `syncs: ${spy.paths.join(', ')}`);
      assert.match(spy.paths[0]!, /\/topics\/one\/0\/\d{20}\.seg$/);
      assert.match(spy.paths[1]!, /\/topics\/four\/2\/\d{20}\.seg$/);
    } finally {
      spy.restore();
    }
    assert.deepEqual(await commitLogFiles(dir.path), [], 'no commit-log file was even created');
    await log.close();
  });

  it('deletes the commit log on close, after syncing the segments it covered', async () => {
    await using dir = await makeTempDir();
    const log = await EmbeddedLog.open(dir.path, { checkpointIntervalMs: 0 });
    await log.ensureTopic('t', { partitions: 4 });
    await log.append(
      't',
      [0, 1, 2, 3].map((i) => ({ value: value(i) })),
    );
    assert.equal((await commitLogFiles(dir.path)).length, 1);
    const spy = await spyOnDatasync(dir.path);
    try {
      await log.close();
      const segmentSyncs = spy.paths.filter((p) => p.endsWith('.seg'));
      assert.equal(segmentSyncs.length, 4, `syncs: ${spy.paths.join(', ')}`);
    } finally {
      spy.restore();
    }
    assert.deepEqual(await commitLogFiles(dir.path), []);
  });
});

describe('commit-log entry format', () => {
  const topic = Buffer.from('events');
  const batches = [
    encodeBatch([{ value: value(0) }, { value: value(1) }], 7, 1000, 1 << 20).buffer,
    encodeBatch([{ value: value(2) }], 9, 1000, 1 << 20).buffer,
  ];
  const data = Buffer.concat(batches);
  const entry = Buffer.concat([encodeEntryHeader(topic, 3, 7, 3, data.length), data]);

  it('round-trips topic, partition, offsets and the batch bytes', () => {
    const parsed = readEntry(Buffer.concat([entry, Buffer.alloc(5)]), 0)!;
    assert.equal(parsed.topic, 'events');
    assert.equal(parsed.partition, 3);
    assert.equal(parsed.baseOffset, 7);
    assert.equal(parsed.recordCount, 3);
    assert.equal(parsed.length, entry.length);
    assert.ok(parsed.data.equals(data));
  });

  it('rejects an entry cut short, a flipped bit in header or batches, and a wrong record count', () => {
    assert.equal(readEntry(entry.subarray(0, entry.length - 1), 0), null);
    for (const at of [1, 6, 10, 17, 25, 33, entry.length - 40, entry.length - 1]) {
      const bad = Buffer.from(entry);
      bad[at]! ^= 0x10;
      assert.equal(readEntry(bad, 0), null, `flipped byte ${at}`);
    }
    const miscounted = Buffer.concat([encodeEntryHeader(topic, 3, 7, 4, data.length), data]);
    assert.equal(readEntry(miscounted, 0), null);
    const wrongBase = Buffer.concat([encodeEntryHeader(topic, 3, 6, 3, data.length), data]);
    assert.equal(readEntry(wrongBase, 0), null);
  });
});
