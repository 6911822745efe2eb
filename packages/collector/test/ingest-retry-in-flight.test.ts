import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Log, RecordInput } from '@tracklane/log';
import { EmbeddedLog } from '@tracklane/log';
import { makeTempDir } from '@tracklane/test-utils';
import { EVENTS_TOPIC } from '../src/event-record.ts';
import { ingest } from '../src/ingest.ts';
import { openCollector } from '../src/open-collector.ts';
import type { RequestFacts } from '../src/request-facts.ts';
import { SourceRegistry } from '../src/sources.ts';

/** A real embedded log whose next append to `events` waits until released, then fails (a log that timed out). */
function withStalledAppend(log: Log): { log: Log; release(): void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let stalled = false;
  const stalling: Log = Object.create(log, {
    append: {
      value: async (topic: string, records: RecordInput[], options?: { partition?: number }) => {
        if (topic === EVENTS_TOPIC && !stalled) {
          stalled = true;
          await released;
          throw new Error('no JetStream ack within 10000 ms');
        }
        return log.append(topic, records, options);
      },
    },
  });
  return { log: stalling, release };
}

function facts(): RequestFacts {
  const now = Date.now();
  return {
    ip: '127.0.0.1',
    userAgent: undefined,
    receivedAt: new Date(now).toISOString(),
    receivedAtMs: now,
    sentAt: undefined,
  };
}

describe('ingest while an append of the same message ids is in flight', () => {
  it('appends a retry whose first attempt has not been stored yet, instead of acking it as a duplicate', async () => {
    await using dir = await makeTempDir();
    const embedded = await EmbeddedLog.open(`${dir.path}/log`, { retentionCheckIntervalMs: 0 });
    try {
      await embedded.ensureTopic(EVENTS_TOPIC, { partitions: 1 });
      const stalled = withStalledAppend(embedded);
      const collector = await openCollector({
        log: stalled.log,
        sources: new SourceRegistry([{ id: 's1', name: 'S', writeKey: 'wk' }]),
        stateDir: `${dir.path}/state`,
      });
      try {
        const source = { id: 's1', name: 'S' };
        // A fresh body per request, as each arrives parsed from its own HTTP request (ingest mutates it).
        const event = () => ({ type: 'track', event: 'Signed Up', userId: 'u', messageId: 'm-1' });
        const first = ingest(collector.context, source, [event()], '/batch', facts(), 'segment', true);
        // The client timed out and retries while the first append is still pending.
        const retry = await ingest(collector.context, source, [event()], '/batch', facts(), 'segment', true);
        assert.deepEqual(retry, { accepted: 1, duplicates: 0, rejected: [] });
        stalled.release();
        await assert.rejects(first, /no JetStream ack/);
        const stored = await embedded.read(EVENTS_TOPIC, 0, 0);
        assert.equal(stored.length, 1, 'the retry stored the event the first attempt failed to');
        const again = await ingest(collector.context, source, [event()], '/batch', facts(), 'segment', true);
        assert.deepEqual(
          again,
          { accepted: 0, duplicates: 1, rejected: [] },
          'once stored, it is a duplicate',
        );
      } finally {
        await collector.close();
      }
    } finally {
      await embedded.close();
    }
  });
});
