import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { runLogConformance } from '@tracklane/log/conformance';
import { type GroupProtocol, KafkaLog } from '../src/index.ts';

/**
 * Runs only against a real broker: KAFKA_BROKERS=127.0.0.1:9092 npm test -- packages/log-kafka (see README.md for a
 * local Kafka or Redpanda). Each test works in its own namespace and deletes exactly its topics and groups,
 * so a shared development broker is safe.
 */
const brokers = process.env.KAFKA_BROKERS;
const skip = brokers
  ? undefined
  : 'KAFKA_BROKERS is not set; no Kafka broker can be installed here (see packages/log-kafka/README.md)';

describe('KafkaLog', { skip }, () => {
  runLogConformance('KafkaLog', async () => {
    const namespace = `tl-${randomBytes(4).toString('hex')}`;
    return {
      open: () =>
        KafkaLog.open({
          brokers: brokers!,
          namespace,
          replicationFactor: Number(process.env.KAFKA_REPLICATION_FACTOR ?? -1),
          sessionTimeoutMs: 6000,
          retentionCheckIntervalMs: 0,
          // 'auto' takes KIP-848 on Kafka 4.x; KAFKA_GROUP_PROTOCOL=classic runs the sticky classic protocol there.
          groupProtocol: (process.env.KAFKA_GROUP_PROTOCOL ?? 'auto') as GroupProtocol,
        }),
      cleanup: async () => {
        const admin = new Admin({
          clientId: 'tracklane-test-cleanup',
          bootstrapBrokers: brokers!.split(','),
        });
        try {
          const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
          if (topics.length > 0) await admin.deleteTopics({ topics });
          const groups = [...(await admin.listGroups()).keys()].filter((g) => g.startsWith(`${namespace}.`));
          if (groups.length > 0) await admin.deleteGroups({ groups }).catch(() => undefined);
        } finally {
          await admin.close();
        }
      },
    };
  });
});
