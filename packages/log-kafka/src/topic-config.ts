import type { TopicConfig, TopicDescription } from '@tracklane/log';

/** Kafka topic-level config names this adapter sets and reads back. */
export const TOPIC_CONFIG_KEYS = ['retention.ms', 'retention.bytes', 'segment.bytes'] as const;

/**
 * TopicConfig -> CreateTopics configs. Undefined retention means "keep forever" in Tracklane, so it is written
 * as -1 explicitly rather than left to the broker default (7 days), which would silently drop data.
 * `cleanup.policy=delete` pins offset-addressed, never-compacted partitions, which the Log model assumes.
 */
export function kafkaTopicConfigs(config: TopicConfig): { name: string; value: string }[] {
  const out = [
    { name: 'cleanup.policy', value: 'delete' },
    { name: 'retention.ms', value: String(config.retentionMs ?? -1) },
    { name: 'retention.bytes', value: String(config.retentionBytes ?? -1) },
  ];
  if (config.segmentBytes !== undefined)
    out.push({ name: 'segment.bytes', value: String(config.segmentBytes) });
  return out;
}

/** DescribeConfigs answer -> TopicDescription; -1 and absent mean unset. */
export function topicDescription(
  name: string,
  partitions: number,
  configs: readonly { name: string; value?: string | null }[],
): TopicDescription {
  const description: TopicDescription = { name, config: { partitions } };
  for (const { name: key, value } of configs) {
    const n = value === null || value === undefined ? Number.NaN : Number(value);
    if (!Number.isSafeInteger(n) || n < 0) continue;
    if (key === 'retention.ms') description.config.retentionMs = n;
    else if (key === 'retention.bytes') description.config.retentionBytes = n;
    else if (key === 'segment.bytes') description.config.segmentBytes = n;
  }
  return description;
}
