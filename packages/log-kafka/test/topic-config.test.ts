import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kafkaTopicConfigs, topicDescription } from '../src/topic-config.ts';

describe('Kafka topic config mapping', () => {
  it('writes unset retention as -1 so the broker default (7 days) never deletes data silently', () => {
    assert.deepEqual(kafkaTopicConfigs({ partitions: 3 }), [
      { name: 'cleanup.policy', value: 'delete' },
      { name: 'retention.ms', value: '-1' },
      { name: 'retention.bytes', value: '-1' },
    ]);
  });

  it('maps retention and segment size to their Kafka names', () => {
    assert.deepEqual(
      kafkaTopicConfigs({ partitions: 1, retentionMs: 3600000, retentionBytes: 4096, segmentBytes: 1 << 20 }),
      [
        { name: 'cleanup.policy', value: 'delete' },
        { name: 'retention.ms', value: '3600000' },
        { name: 'retention.bytes', value: '4096' },
        { name: 'segment.bytes', value: '1048576' },
      ],
    );
  });

  it('reads a DescribeConfigs answer back, treating -1 and missing values as unset', () => {
    assert.deepEqual(
      topicDescription('events', 4, [
        { name: 'retention.ms', value: '-1' },
        { name: 'retention.bytes', value: '4096' },
        { name: 'segment.bytes', value: null },
      ]),
      { name: 'events', config: { partitions: 4, retentionBytes: 4096 } },
    );
  });
});
