import type { TopicPartition } from './log.ts';

/**
 * Kafka's RoundRobinAssignor: walk every partition of every subscribed topic in (topic, partition) order and
 * hand each to the next member, in the given order, that subscribes to its topic. A pure function of its
 * input, so members of a leaderless group (NATS) agree on it, and every Log assigns alike.
 */
export function assignRoundRobin(
  members: readonly { readonly topics: readonly string[] }[],
  partitionCount: (topic: string) => number,
): TopicPartition[][] {
  const result: TopicPartition[][] = members.map(() => []);
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  let next = 0;
  for (const topic of topics) {
    const count = partitionCount(topic);
    for (let partition = 0; partition < count; partition++) {
      for (let tried = 0; tried < members.length; tried++) {
        const i = (next + tried) % members.length;
        if (members[i]!.topics.includes(topic)) {
          result[i]!.push({ topic, partition });
          next = i + 1;
          break;
        }
      }
    }
  }
  return result;
}
