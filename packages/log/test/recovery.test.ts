import assert from 'node:assert/strict';
import { appendFile, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeTempDir } from '@tracklane/test-utils';
import { encodeBatch } from '../src/embedded/record-batch.ts';
import { EmbeddedLog } from '../src/index.ts';

const value = (i: number) => Buffer.from(`value-${i}-${'x'.repeat(40)}`);

async function segmentsOf(dir: string, partition = 0): Promise<string[]> {
  const partDir = join(dir, 'topics', 't', String(partition));
  return (await readdir(partDir))
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => join(partDir, f));
}

async function flipByte(path: string, position: number): Promise<void> {
  const fh = await open(path, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, position);
  b[0]! ^= 0xff;
  await fh.write(b, 0, 1, position);
  await fh.close();
}

async function openWith(dir: string, records: number, segmentBytes?: number): Promise<EmbeddedLog> {
  const log = await EmbeddedLog.open(dir, { retentionCheckIntervalMs: 0 });
  await log.ensureTopic('t', segmentBytes ? { partitions: 1, segmentBytes } : { partitions: 1 });
  for (let i = 0; i < records; i++) await log.append('t', [{ value: value(i) }]);
  return log;
}

async function values(log: EmbeddedLog): Promise<string[]> {
  return (await log.read('t', 0, 0, { maxRecords: 10_000 })).map((r) => `${r.offset}:${r.value.toString()}`);
}

const expected = (n: number) => Array.from({ length: n }, (_, i) => `${i}:${value(i).toString()}`);

describe('recovery on open', () => {
  it('truncates a torn (partially written) batch at the tail and appends after the last good one', async () => {
    await using dir = await makeTempDir();
    let log = await openWith(dir.path, 5);
    await log.close();
    const [segment] = await segmentsOf(dir.path);
    const goodSize = (await stat(segment!)).size;
    const next = encodeBatch([{ value: value(5) }, { value: value(6) }], 5, Date.now(), 1 << 20).buffer;
    await appendFile(segment!, next.subarray(0, next.length - 10));

    log = await EmbeddedLog.open(dir.path, { retentionCheckIntervalMs: 0 });
    assert.deepEqual(await values(log), expected(5));
    assert.equal((await stat(segment!)).size, goodSize, 'the torn bytes are gone from the file');
    const [ack] = await log.append('t', [{ value: value(5) }]);
    assert.equal(ack!.offset, 5);
    await log.close();
    log = await EmbeddedLog.open(dir.path, { retentionCheckIntervalMs: 0 });
    assert.deepEqual(await values(log), expected(6));
    await log.close();
  });

  it('drops a last batch whose CRC does not match, keeping the earlier ones', async () => {
    await using dir = await makeTempDir();
    let log = await openWith(dir.path, 4);
    await log.close();
    const [segment] = await segmentsOf(dir.path);
    const size = (await stat(segment!)).size;
    await flipByte(segment!, size - 3);

    log = await EmbeddedLog.open(dir.path, { retentionCheckIntervalMs: 0 });
    assert.deepEqual(await values(log), expected(3));
    assert.deepEqual(await log.offsets('t'), [{ partition: 0, start: 0, end: 3 }]);
    const [ack] = await log.append('t', [{ value: value(3) }]);
    assert.equal(ack!.offset, 3);
    assert.deepEqual(await values(log), expected(4));
    await log.close();
  });

  it('truncates trailing garbage that is not a batch at all', async () => {
    await using dir = await makeTempDir();
    let log = await openWith(dir.path, 3);
    await log.close();
    const [segment] = await segmentsOf(dir.path);
    await appendFile(segment!, Buffer.alloc(100, 0));
    log = await EmbeddedLog.open(dir.path, { retentionCheckIntervalMs: 0 });
    assert.deepEqual(await values(log), expected(3));
    await log.close();
  });

  it('raises E_CORRUPT_RECORD for a bad CRC in an old segment instead of returning the data', async () => {
    await using dir = await makeTempDir();
    let log = await openWith(dir.path, 30, 512);
    await log.close();
    const segments = await segmentsOf(dir.path);
    assert.ok(segments.length > 3, 'several segments were written');
    // Inside the first record's value: the header still parses, only the CRC can tell.
    await flipByte(segments[0]!, 70);

    log = await EmbeddedLog.open(dir.path, { retentionCheckIntervalMs: 0 });
    await assert.rejects(log.read('t', 0, 0), (err: { code?: string }) => err.code === 'E_CORRUPT_RECORD');
    const second = Number(segments[1]!.slice(-24, -4));
    const later = await log.read('t', 0, second, { maxRecords: 5 });
    assert.equal(later[0]!.offset, second, 'segments after the damaged one stay readable');
    assert.equal(later[0]!.value.toString(), value(second).toString());
    await log.close();
  });

  it('rolls segments at segmentBytes, named by their 20-digit base offset', async () => {
    await using dir = await makeTempDir();
    const log = await openWith(dir.path, 20, 300);
    const names = (await segmentsOf(dir.path)).map((p) => p.slice(-24));
    assert.ok(names.length > 1);
    assert.equal(names[0], '00000000000000000000.seg');
    for (const name of names) assert.match(name, /^\d{20}\.seg$/);
    for (const path of (await segmentsOf(dir.path)).slice(0, -1)) {
      assert.ok((await stat(path)).size <= 300);
    }
    assert.deepEqual(await values(log), expected(20));
    await log.close();
  });
});
