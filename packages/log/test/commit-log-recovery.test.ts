import assert from 'node:assert/strict';
import { open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeTempDir, waitFor } from '@tracklane/test-utils';
import { type CommitLogEntry, readEntry } from '../src/embedded/commit-log-entry.ts';
import { EmbeddedLog, type EmbeddedLogOptions } from '../src/index.ts';
import { commitLogFiles, crashCopy, segmentFiles, truncateSegments } from './fixtures/log-files.ts';
import { spyOnDatasync } from './fixtures/sync-spy.ts';

/*
 * Crashes are simulated in-process by copying a live log directory (crashCopy: what kill -9 leaves, page cache
 * intact), and a lost page cache by cutting the copy's segments back to the size they were last fdatasynced
 * at. Every append here spreads over all 4 partitions, so every flush cycle goes through the commit log and no
 * segment is ever fdatasynced before a checkpoint: that size is 0.
 */

const TOPIC = 't';
const PARTITIONS = 4;
const options: EmbeddedLogOptions = { retentionCheckIntervalMs: 0, checkpointIntervalMs: 0 };
const codeIs = (code: string) => (err: { code?: string }) => err.code === code;

/** Appends `appends` keyless batches of 4..7 records from 3 concurrent appenders; returns values per partition. */
async function appendSpread(log: EmbeddedLog, appends: number, tag = 'v'): Promise<string[][]> {
  const byPartition: string[][] = Array.from({ length: PARTITIONS }, () => []);
  let next = 0;
  await Promise.all(
    [0, 1, 2].map(async (a) => {
      while (next < appends) {
        const n = next++;
        const values = Array.from({ length: 4 + (n % 4) }, (_, i) => `${tag}-${a}-${n}-${i}`);
        const acks = await log.append(
          TOPIC,
          values.map((v) => ({ value: Buffer.from(v) })),
        );
        for (let i = 0; i < acks.length; i++) byPartition[acks[i]!.partition]![acks[i]!.offset] = values[i]!;
      }
    }),
  );
  return byPartition;
}

async function readAll(log: EmbeddedLog): Promise<string[][]> {
  const out: string[][] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const records = await log.read(TOPIC, p, 0, { maxRecords: 100_000, maxBytes: 64 << 20 });
    for (let i = 0; i < records.length; i++) {
      assert.equal(records[i]!.offset, i, `partition ${p}: offsets are contiguous`);
    }
    out.push(records.map((r) => r.value.toString()));
  }
  return out;
}

/** A log with `appends` acknowledged multi-partition appends, crash-copied to `<dir>/crashed`. */
async function crashedLog(dir: string, appends: number): Promise<{ crashed: string; acked: string[][] }> {
  const live = join(dir, 'live');
  const crashed = join(dir, 'crashed');
  const log = await EmbeddedLog.open(live, options);
  await log.ensureTopic(TOPIC, { partitions: PARTITIONS });
  const acked = await appendSpread(log, appends);
  await crashCopy(live, crashed);
  await log.close();
  return { crashed, acked };
}

function entriesOf(buf: Buffer): { entry: CommitLogEntry; start: number }[] {
  const out: { entry: CommitLogEntry; start: number }[] = [];
  for (let pos = 0; pos < buf.length; ) {
    const entry = readEntry(buf, pos);
    assert.ok(entry, `a valid entry at byte ${pos}`);
    out.push({ entry, start: pos });
    pos += entry.length;
  }
  return out;
}

/** What replay restores from entries [0, upTo): per partition, the acked values below each entry's end. */
function restoredBy(entries: { entry: CommitLogEntry }[], upTo: number, acked: string[][]): string[][] {
  const ends = new Array<number>(PARTITIONS).fill(0);
  for (const { entry } of entries.slice(0, upTo)) {
    ends[entry.partition] = Math.max(ends[entry.partition]!, entry.baseOffset + entry.recordCount);
  }
  return acked.map((values, p) => values.slice(0, ends[p]));
}

describe('commit log recovery', () => {
  it('restores every acknowledged record from the commit log when the segments lost their page cache', async () => {
    await using dir = await makeTempDir();
    const { crashed, acked } = await crashedLog(dir.path, 60);
    assert.ok((await commitLogFiles(crashed)).length > 0, 'the crash left a commit log');
    for (const path of await segmentFiles(crashed, TOPIC)) assert.ok((await stat(path)).size > 0);
    await truncateSegments(crashed, TOPIC, 0);

    let log = await EmbeddedLog.open(crashed, options);
    assert.deepEqual(await readAll(log), acked);
    assert.deepEqual(await commitLogFiles(crashed), [], 'replay deletes the commit log');
    // The replayed records were fdatasynced into the segments, and appends continue after them.
    const more = await appendSpread(log, 8, 'after');
    await log.close();
    log = await EmbeddedLog.open(crashed, options);
    const all = await readAll(log);
    for (let p = 0; p < PARTITIONS; p++) {
      assert.deepEqual(all[p]!.slice(0, acked[p]!.length), acked[p]);
      assert.deepEqual(all[p]!.slice(acked[p]!.length), more[p]!.slice(acked[p]!.length));
    }
    await log.close();
  });

  it('replays nothing twice after a kill -9 that kept the page cache', async () => {
    await using dir = await makeTempDir();
    const { crashed, acked } = await crashedLog(dir.path, 40);
    const log = await EmbeddedLog.open(crashed, options);
    assert.deepEqual(await readAll(log), acked);
    await log.close();
  });

  it('ignores a torn last entry: its cycle never fdatasynced, so it was never acknowledged', async () => {
    await using dir = await makeTempDir();
    const { crashed, acked } = await crashedLog(dir.path, 30);
    const [wal] = await commitLogFiles(crashed);
    const entries = entriesOf(await readFile(wal!));
    const last = entries[entries.length - 1]!;
    await truncate(wal!, last.start + Math.floor(last.entry.length / 2));
    await truncateSegments(crashed, TOPIC, 0);

    const log = await EmbeddedLog.open(crashed, options);
    const expected = restoredBy(entries, entries.length - 1, acked);
    assert.deepEqual(await readAll(log), expected);
    assert.equal(
      expected[last.entry.partition]!.length,
      last.entry.baseOffset,
      'the torn entry’s partition ends where the entry began',
    );
    const [ack] = await log.append(TOPIC, [{ value: Buffer.from('next') }], {
      partition: last.entry.partition,
    });
    assert.equal(ack!.offset, last.entry.baseOffset, 'appends continue at the end');
    await log.close();
  });

  it('stops at an entry with a bad CRC in the newest file, replaying only the entries before it', async () => {
    await using dir = await makeTempDir();
    const { crashed, acked } = await crashedLog(dir.path, 30);
    const [wal] = await commitLogFiles(crashed);
    const buf = await readFile(wal!);
    const entries = entriesOf(buf);
    const middle = Math.floor(entries.length / 2);
    buf[entries[middle]!.start + 20]! ^= 0xff; // in the base offset, covered by the header CRC
    await writeFile(wal!, buf);
    await truncateSegments(crashed, TOPIC, 0);

    const log = await EmbeddedLog.open(crashed, options);
    assert.deepEqual(await readAll(log), restoredBy(entries, middle, acked));
    await log.close();
  });

  it('fails with E_CORRUPT_RECORD naming the file for a bad entry in an older commit-log file', async () => {
    await using dir = await makeTempDir();
    const { crashed } = await crashedLog(dir.path, 20);
    const [wal] = await commitLogFiles(crashed);
    const buf = await readFile(wal!);
    const entries = entriesOf(buf);
    buf[entries[1]!.start + 20]! ^= 0xff;
    await writeFile(wal!, buf);
    await writeFile(join(crashed, 'commit-log', `${'1'.padStart(20, '0')}.wal`), '');

    await assert.rejects(
      EmbeddedLog.open(crashed, options),
      (err: { code?: string; message: string }) =>
        err.code === 'E_CORRUPT_RECORD' && err.message.includes(wal!) && err.message.includes('newer'),
    );
  });

  it('fails with E_CORRUPT_RECORD naming the file when an entry would leave a gap in its partition', async () => {
    await using dir = await makeTempDir();
    const { crashed } = await crashedLog(dir.path, 30);
    const [wal] = await commitLogFiles(crashed);
    const buf = await readFile(wal!);
    const entries = entriesOf(buf);
    // Cut out an entry that has a later entry of the same partition: that one then starts past the end.
    const cut = entries.findIndex(
      ({ entry }, i) => i > 0 && entries.slice(i + 1).some((e) => e.entry.partition === entry.partition),
    );
    const { start, entry } = entries[cut]!;
    await writeFile(wal!, Buffer.concat([buf.subarray(0, start), buf.subarray(start + entry.length)]));
    await truncateSegments(crashed, TOPIC, 0);

    await assert.rejects(
      EmbeddedLog.open(crashed, options),
      (err: { code?: string; message: string }) =>
        err.code === 'E_CORRUPT_RECORD' &&
        err.message.includes(wal!) &&
        err.message.includes(`${TOPIC}/${entry.partition}`),
    );
  });

  it('skips entries of a topic that no longer exists', async () => {
    await using dir = await makeTempDir();
    const live = join(dir.path, 'live');
    const log = await EmbeddedLog.open(live, options);
    await log.ensureTopic(TOPIC, { partitions: PARTITIONS });
    await log.ensureTopic('gone', { partitions: 2 });
    const acked = await appendSpread(log, 10);
    await log.append('gone', [{ value: Buffer.from('a') }, { value: Buffer.from('b') }]);
    const crashed = join(dir.path, 'crashed');
    await crashCopy(live, crashed);
    await log.close();
    await rm(join(crashed, 'topics', 'gone'), { recursive: true });

    const reopened = await EmbeddedLog.open(crashed, options);
    assert.deepEqual(await reopened.listTopics(), [TOPIC]);
    assert.deepEqual(await readAll(reopened), acked);
    await reopened.close();
  });
});

describe('checkpoint', () => {
  it('deletes old commit-log files only after the segments are fdatasynced; a restart then replays nothing', async () => {
    await using dir = await makeTempDir();
    const live = join(dir.path, 'live');
    // commitLogBytes 1: every multi-partition cycle starts a checkpoint.
    const log = await EmbeddedLog.open(live, { ...options, commitLogBytes: 1 });
    await log.ensureTopic(TOPIC, { partitions: PARTITIONS });
    const spy = await spyOnDatasync(dir.path);
    let release = spy.hold((path) => path.startsWith(live) && path.endsWith('.seg'));
    let acked: string[][];
    try {
      acked = await appendSpread(log, 1);
      const [wal] = await commitLogFiles(live);
      assert.ok(wal, 'the cycle wrote a commit-log file');
      await waitFor(() => spy.paths.some((p) => p.endsWith('.seg')), {
        what: 'the checkpoint’s segment sync',
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(await commitLogFiles(live), [wal], 'kept while the segment syncs are pending');
      // A crash now, with the page cache lost, still recovers from that file.
      const early = join(dir.path, 'early');
      await crashCopy(live, early);
      await truncateSegments(early, TOPIC, 0);
      const recovered = await EmbeddedLog.open(early, options);
      assert.deepEqual(await readAll(recovered), acked);
      await recovered.close();

      release();
      await waitFor(async () => (await commitLogFiles(live)).length === 0, {
        what: 'the checkpoint to delete the commit log',
      });
    } finally {
      release();
      spy.restore();
    }
    release = () => undefined;
    const crashed = join(dir.path, 'crashed');
    await crashCopy(live, crashed);
    await log.close();
    const before = await Promise.all((await segmentFiles(crashed, TOPIC)).map((p) => readFile(p)));
    const reopened = await EmbeddedLog.open(crashed, options);
    assert.deepEqual(await readAll(reopened), acked);
    const after = await Promise.all((await segmentFiles(crashed, TOPIC)).map((p) => readFile(p)));
    assert.deepEqual(after, before, 'recovery wrote nothing to the segments');
    await reopened.close();
  });

  it('checkpoints on its timer while segments hold commit-log-only bytes', async () => {
    await using dir = await makeTempDir();
    const log = await EmbeddedLog.open(dir.path, { ...options, checkpointIntervalMs: 20 });
    await log.ensureTopic(TOPIC, { partitions: PARTITIONS });
    await appendSpread(log, 5);
    await waitFor(async () => (await commitLogFiles(dir.path)).length === 0, {
      what: 'the timer checkpoint',
    });
    await log.close();
  });
});

describe('partition failure', () => {
  it('fails every partition of a cycle whose commit-log fdatasync failed, and keeps the commit log for replay', async () => {
    await using dir = await makeTempDir();
    const log = await EmbeddedLog.open(dir.path, options);
    await log.ensureTopic(TOPIC, { partitions: PARTITIONS });
    const acked = await appendSpread(log, 2);
    const probe = await open(join(dir.path, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const original = proto.datasync;
    proto.datasync = () => Promise.reject(new Error('EIO: simulated'));
    try {
      await assert.rejects(
        log.append(
          TOPIC,
          [0, 1, 2, 3].map((i) => ({ value: Buffer.from(String(i)) })),
        ),
        codeIs('E_NOT_READY'),
      );
    } finally {
      proto.datasync = original;
    }
    for (let p = 0; p < PARTITIONS; p++) {
      await assert.rejects(
        log.append(TOPIC, [{ value: Buffer.from('x') }], { partition: p }),
        codeIs('E_NOT_READY'),
        `partition ${p} stopped`,
      );
    }
    await log.close();
    // A failed partition's page cache cannot be trusted, so close does not checkpoint its commit-log entries away.
    assert.ok((await commitLogFiles(dir.path)).length > 0, 'the commit log survives the close');
    await truncateSegments(dir.path, TOPIC, 0);
    const reopened = await EmbeddedLog.open(dir.path, options);
    // The failed append's outcome is unknown (its bytes may have reached the disk), as after any failed fsync;
    // what must hold is that everything acknowledged is there.
    const all = await readAll(reopened);
    for (let p = 0; p < PARTITIONS; p++) assert.deepEqual(all[p]!.slice(0, acked[p]!.length), acked[p]);
    await reopened.close();
  });
});
