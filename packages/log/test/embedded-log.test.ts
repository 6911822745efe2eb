import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { open as openFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeTempDir } from '@tracklane/test-utils';
import { EmbeddedLog } from '../src/index.ts';

const codeIs = (code: string) => (err: { code?: string }) => err.code === code;

describe('EmbeddedLog', () => {
  it('refuses a second open of the same directory with E_LOG_LOCKED until the first closes', async () => {
    await using dir = await makeTempDir();
    const first = await EmbeddedLog.open(dir.path);
    await assert.rejects(EmbeddedLog.open(dir.path), codeIs('E_LOG_LOCKED'));
    await first.close();
    const second = await EmbeddedLog.open(dir.path);
    await second.close();
  });

  it('takes over a stale lock left by a dead process', async () => {
    await using dir = await makeTempDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(dead.stdout.toString());
    assert.ok(deadPid > 0);
    await writeFile(join(dir.path, 'LOCK'), `${deadPid}\n`);
    const log = await EmbeddedLog.open(dir.path);
    assert.equal((await readFile(join(dir.path, 'LOCK'), 'utf8')).trim(), String(process.pid));
    await log.close();
  });

  it('rejects topic and group names that could escape the data directory', async () => {
    await using dir = await makeTempDir();
    const log = await EmbeddedLog.open(dir.path);
    for (const name of ['../x', '..', '.', 'a/b', 'a\\b', '', 'x'.repeat(201), 'a..b', 'sp ace']) {
      await assert.rejects(log.ensureTopic(name, { partitions: 1 }), codeIs('E_BAD_ARGUMENT'), name);
    }
    await log.ensureTopic('ok.name_1-x', { partitions: 1 });
    await assert.rejects(log.consumer({ group: '../g', topics: ['ok.name_1-x'] }), codeIs('E_BAD_ARGUMENT'));
    await assert.rejects(log.committedOffsets('../g', 'ok.name_1-x'), codeIs('E_BAD_ARGUMENT'));
    await log.close();
  });

  it('shares one fdatasync among many concurrent appends (group commit)', async () => {
    await using dir = await makeTempDir();
    const log = await EmbeddedLog.open(dir.path);
    await log.ensureTopic('t', { partitions: 1 });
    // Count fdatasyncs by wrapping the FileHandle prototype for the duration of the test.
    const probe = await openFile(join(dir.path, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const original = proto.datasync;
    let syncs = 0;
    proto.datasync = function (this: unknown) {
      syncs++;
      return original.call(this);
    };
    try {
      const acks = await Promise.all(
        Array.from({ length: 100 }, (_, i) => log.append('t', [{ value: Buffer.from(String(i)) }])),
      );
      assert.deepEqual(
        acks.map((a) => a[0]!.offset),
        Array.from({ length: 100 }, (_, i) => i),
      );
      assert.ok(syncs <= 2, `100 concurrent appends took ${syncs} fdatasyncs`);
    } finally {
      proto.datasync = original;
    }
    await log.close();
  });

  it('rejects an oversized record with E_RECORD_TOO_LARGE and appends nothing', async () => {
    await using dir = await makeTempDir();
    const log = await EmbeddedLog.open(dir.path, { maxRecordBytes: 1024 });
    await log.ensureTopic('t', { partitions: 2 });
    await assert.rejects(
      log.append('t', [
        { key: 'a', value: Buffer.alloc(10) },
        { key: 'b', value: Buffer.alloc(5000) },
      ]),
      codeIs('E_RECORD_TOO_LARGE'),
    );
    assert.deepEqual(
      (await log.offsets('t')).map((o) => o.end),
      [0, 0],
    );
    await log.close();
  });

  it('throws E_LOG_CLOSED after close, and close is idempotent', async () => {
    await using dir = await makeTempDir();
    const log = await EmbeddedLog.open(dir.path);
    await log.ensureTopic('t', { partitions: 1 });
    const c = await log.consumer({ group: 'g', topics: ['t'] });
    const waiting = c.poll({ timeoutMs: 10_000 });
    await log.close();
    await log.close();
    assert.deepEqual(await waiting, [], 'a waiting poll returns when the log closes');
    await assert.rejects(log.listTopics(), codeIs('E_LOG_CLOSED'));
    await assert.rejects(c.poll(), codeIs('E_LOG_CLOSED'));
  });
});
