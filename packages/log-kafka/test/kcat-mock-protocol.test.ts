import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KafkaLog } from '../src/index.ts';
import { kcatMissing, type MockBroker, startKcatMockBroker } from './kcat-mock-broker.ts';

/**
 * Protocol-level check against the one Kafka-protocol server available from Debian: librdkafka 2.0's mock
 * cluster. It speaks only old API versions (ApiVersions <= v2, Metadata <= v2, Fetch <= v11, no CreateTopics),
 * while @platformatic/kafka needs Kafka >= 3.5's (ApiVersions v3+, Metadata v9+, Fetch v12+), so the suite cannot
 * run on it. What it does pin: over a real Kafka wire connection, an incompatible broker is reported as
 * E_NOT_READY at open, with the broker's reason, rather than as a hang or a failure on the first append.
 * If a newer librdkafka mock ever answers, this test fails, and the conformance suite should run on it instead.
 */
describe('KafkaLog against the librdkafka mock broker (kcat)', { skip: kcatMissing() }, () => {
  let broker: MockBroker;
  before(async () => {
    broker = await startKcatMockBroker();
  });
  after(async () => {
    await broker?.stop();
  });

  it('refuses an unsupported broker at open with E_NOT_READY and the protocol reason', async () => {
    await assert.rejects(
      KafkaLog.open({ brokers: broker.address, retentionCheckIntervalMs: 0 }),
      (err: unknown) => {
        const e = err as { code?: string; message: string };
        assert.equal(e.code, 'E_NOT_READY');
        assert.match(e.message, new RegExp(broker.address.replace('.', '\\.')));
        assert.match(e.message, /ApiVersions/);
        return true;
      },
    );
  });
});
