import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Log, LogRecord } from '@tracklane/log';
import { NatsLog } from '../src/index.ts';
import { type NatsCluster, natsServerMissing, startNatsCluster } from './nats-server.ts';

/** Appends with message ids, retrying rejected calls (bounded) as a collector would. */
async function appendWithRetry(log: Log, from: number, count: number): Promise<void> {
  const records = Array.from({ length: count }, (_, i) => ({
    key: `user-${(from + i) % 7}`,
    value: Buffer.from(String(from + i)),
    headers: { 'message-id': `evt-${from + i}` },
  }));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await log.append('t', records);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

describe('NatsLog on a 3-node cluster losing a node', { skip: natsServerMissing() }, () => {
  let cluster: NatsCluster;
  before(async () => {
    cluster = await startNatsCluster(3);
  });
  after(async () => {
    await cluster?.stop();
  });

  it('keeps every acknowledged record exactly once and keeps appending after kill -9 of one node', async () => {
    const log = await NatsLog.open({ servers: cluster.servers, replicas: 3, retentionCheckIntervalMs: 0 });
    try {
      await log.ensureTopic('t', { partitions: 2 });
      await appendWithRetry(log, 0, 100);
      await cluster.nodes[0]!.kill();
      await appendWithRetry(log, 100, 100);
      const values: string[] = [];
      for (let p = 0; p < 2; p++) {
        const records: LogRecord[] = [];
        for (let offset = 0; ; ) {
          const batch = await log.read('t', p, offset, { maxRecords: 500 });
          if (batch.length === 0) break;
          records.push(...batch);
          offset = batch[batch.length - 1]!.offset + 1;
        }
        assert.deepEqual(
          records.map((r) => r.offset),
          records.map((_, i) => i),
          `partition ${p}: contiguous offsets`,
        );
        values.push(...records.map((r) => r.value.toString()));
      }
      assert.deepEqual(
        values.map(Number).sort((a, b) => a - b),
        Array.from({ length: 200 }, (_, i) => i),
        'every record once: retried appends were deduplicated by message id',
      );
    } finally {
      await log.close();
    }
  });
});
