import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EmbeddedLog } from '@tracklane/log';
import { DuckDbStore } from '@tracklane/storage';
import { makeTempDir, waitFor } from '@tracklane/test-utils';
import pino from 'pino';
import { startDeadLetterWriter } from '../src/dead-letter-writer.ts';

describe('dead-letter writer', () => {
  it('stores a dead letter appended again (a poison record redone after a crash) once', async () => {
    await using dir = await makeTempDir();
    const log = await EmbeddedLog.open(`${dir.path}/log`, { retentionCheckIntervalMs: 0 });
    const store = await DuckDbStore.open(`${dir.path}/t.duckdb`);
    await log.ensureTopic('dead-letter', { partitions: 1 });
    // What the stream engine appends for a record that kept failing: the same letter twice (the second
    // after a restart from the checkpoint before it), at two positions of the dead-letter topic.
    const poison = {
      value: Buffer.from('{"bad":true}'),
      headers: {
        stage: 'sessions',
        operator: 'map#1',
        reason: 'boom',
        'source-topic': 'events',
        'source-partition': '2',
        'source-offset': '41',
      },
    };
    // A letter the engine named itself (a failing result mapper), also twice; and a collector rejection.
    const named = { value: Buffer.from('{"n":1}'), headers: { id: 'p/map#2/abc', stage: 'p', reason: 'x' } };
    const collector = {
      value: Buffer.from('{"event":5}'),
      headers: { stage: 'collector', reason: 'validation' },
    };
    await log.append('dead-letter', [poison, named, collector, poison, named]);
    const writer = await startDeadLetterWriter(log, store, pino({ level: 'silent' }));
    try {
      const ids = async () =>
        (await store.query('SELECT id FROM dead_letters ORDER BY id')).rows.map((r) => String(r[0]));
      await waitFor(async () => (await ids()).length === 3, { timeoutMs: 10_000, what: 'letters stored' });
      // Give a wrongly-keyed duplicate time to show up before checking.
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(await ids(), ['dead-letter/0/2', 'p/map#2/abc', 'sessions/map#1/events/2/41']);
    } finally {
      await writer.stop();
      await store.close();
      await log.close();
    }
  });
});
