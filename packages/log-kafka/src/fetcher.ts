import type { Consumer, RecordsBatch } from '@platformatic/kafka';
import type { LogRecord } from '@tracklane/log';
import { recordsFromBatches } from './records.ts';

export interface FetchItem {
  /** Kafka's topic name. */
  topic: string;
  /** Topic name stamped on the records (the Tracklane name, without namespace). */
  label: string;
  partition: number;
  offset: number;
}

export interface FetchedPartition extends FetchItem {
  records: LogRecord[];
  /** Kafka error code for this partition (0: none; 1: OFFSET_OUT_OF_RANGE). */
  errorCode: number;
}

interface RawPartition {
  partitionIndex: number;
  errorCode: number;
  records?: RecordsBatch[];
}

interface RawResponse {
  responses: { topicId: string; partitions: RawPartition[] }[];
}

export interface FetchLimits {
  maxWaitMs: number;
  maxBytes: number;
  maxRecordsPerPartition: number;
}

/**
 * One Fetch per partition leader, in parallel: what both `Log.read` and a group member's `poll` use, so
 * positions stay ours (seek is just a number) rather than the client's stream's. The broker holds the request
 * up to `maxWaitMs` when there is nothing yet, which is what wakes a waiting poll as records arrive.
 */
export async function fetchPartitions(
  client: Consumer<Buffer, Buffer, Buffer, Buffer>,
  items: readonly FetchItem[],
  limits: FetchLimits,
): Promise<FetchedPartition[]> {
  if (items.length === 0) return [];
  const topics = [...new Set(items.map((i) => i.topic))];
  const metadata = await client.metadata({ topics });
  const byLeader = new Map<number, FetchItem[]>();
  for (const item of items) {
    const leader = metadata.topics.get(item.topic)?.partitions[item.partition]?.leader ?? -1;
    let list = byLeader.get(leader);
    if (!list) {
      list = [];
      byLeader.set(leader, list);
    }
    list.push(item);
  }
  const perPartitionBytes = Math.max(1, Math.floor(limits.maxBytes / items.length));
  const results = await Promise.all(
    [...byLeader].map(async ([node, list]) => {
      const topicIds = new Map<string, string>();
      const grouped = new Map<string, FetchItem[]>();
      for (const item of list) {
        const id = metadata.topics.get(item.topic)!.id;
        topicIds.set(id, item.topic);
        let g = grouped.get(id);
        if (!g) {
          g = [];
          grouped.set(id, g);
        }
        g.push(item);
      }
      let response: RawResponse;
      try {
        response = (await client.fetch({
          node,
          maxWaitTime: limits.maxWaitMs,
          minBytes: 1,
          maxBytes: limits.maxBytes,
          topics: [...grouped].map(([topicId, g]) => ({
            topicId,
            partitions: g.map((item) => ({
              partition: item.partition,
              fetchOffset: BigInt(item.offset),
              partitionMaxBytes: perPartitionBytes,
              currentLeaderEpoch: -1,
              lastFetchedEpoch: -1,
            })),
          })),
        })) as RawResponse;
      } catch (err) {
        // A partition-level error (e.g. an offset retention just removed) fails the whole call in the client,
        // but the parsed response rides along: the other partitions' records are still good.
        const partial = (err as { response?: RawResponse }).response;
        if (!partial?.responses) throw err;
        response = partial;
      }
      const out: FetchedPartition[] = [];
      for (const t of response.responses) {
        const topic = topicIds.get(t.topicId);
        if (topic === undefined) continue;
        for (const p of t.partitions) {
          const item = list.find((i) => i.topic === topic && i.partition === p.partitionIndex);
          if (!item) continue;
          out.push({
            ...item,
            errorCode: p.errorCode,
            records: recordsFromBatches(
              item.label,
              p.partitionIndex,
              p.records,
              item.offset,
              limits.maxRecordsPerPartition,
              Number.MAX_SAFE_INTEGER,
            ),
          });
        }
      }
      return out;
    }),
  );
  return results.flat();
}
