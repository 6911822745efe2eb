import { partitionForKey, type RecordInput } from '@tracklane/log';

export const MESSAGE_ID_HEADER = 'message-id';

/**
 * The partition of a record, chosen here rather than by the client's partitioner so that every Log places
 * records alike: an explicit partition wins, then the key (Kafka's murmur2), then the message id (so a retried
 * keyless record lands where the idempotent producer or a downstream dedup can recognise it), then
 * round-robin.
 */
export class Placement {
  private roundRobin = 0;

  constructor(private readonly partitions: number) {}

  partitionOf(record: RecordInput, explicit: number | undefined): number {
    if (explicit !== undefined) return explicit;
    if (this.partitions === 1) return 0;
    const key = record.key;
    if (key !== null && key !== undefined) return partitionForKey(key, this.partitions);
    const messageId = record.headers?.[MESSAGE_ID_HEADER];
    if (messageId) return partitionForKey(messageId, this.partitions);
    return this.roundRobin++ % this.partitions;
  }
}
