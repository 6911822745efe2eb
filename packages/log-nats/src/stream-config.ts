import type { TopicDescription } from '@tracklane/log';

const NS_PER_MS = 1_000_000;
/** JetStream's default dedup window; it may not exceed max_age, so short retentions shrink it. */
const DEDUP_WINDOW_MS = 2 * 60 * 1000;

/** The subset of JetStream's StreamConfig we set, in the server's own field names (2.9-compatible). */
export interface PartitionStreamConfig {
  name: string;
  subjects: string[];
  storage: 'file';
  retention: 'limits';
  discard: 'old';
  num_replicas: number;
  max_age: number;
  max_bytes: number;
  duplicate_window: number;
  description: string;
}

/**
 * One partition's stream. Retention maps onto JetStream limits, per partition like Kafka's:
 * `retentionBytes` -> max_bytes (the server counts subject and headers too, so slightly fewer value bytes are
 * kept), `retentionMs` -> max_age. max_age ages messages by server receive time; records appended with older
 * event timestamps are removed by `enforceRetention`, which purges by record timestamp.
 * `segmentBytes` has no JetStream equivalent (the server sizes its own blocks) and is ignored.
 */
export function partitionStreamConfig(
  stream: string,
  subject: string,
  topic: TopicDescription,
  replicas: number,
): PartitionStreamConfig {
  const { retentionMs, retentionBytes } = topic.config;
  return {
    name: stream,
    subjects: [subject],
    storage: 'file',
    retention: 'limits',
    discard: 'old',
    num_replicas: replicas,
    max_age: retentionMs === undefined ? 0 : retentionMs * NS_PER_MS,
    max_bytes: retentionBytes ?? -1,
    duplicate_window: Math.min(DEDUP_WINDOW_MS, retentionMs ?? DEDUP_WINDOW_MS) * NS_PER_MS,
    description: `Tracklane topic ${topic.name}, partition ${subject.slice(subject.lastIndexOf('.') + 1)}`,
  };
}
