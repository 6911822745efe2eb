import type { TopicPartition } from '@tracklane/log';

/** What every member publishes about itself, so that all members compute the same assignment. */
export interface MemberInfo {
  memberId: string;
  /** Join time (ms, as the member stored it); with memberId it orders members identically everywhere. */
  joined: number;
  /** Subscribed topics and their partition counts. */
  topics: Record<string, number>;
}

export function memberOrder(a: MemberInfo, b: MemberInfo): number {
  return a.joined - b.joined || (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0);
}

/**
 * Kafka's RoundRobinAssignor, as the embedded log uses it: walk every partition of every subscribed topic in
 * (topic, partition) order and hand each to the next member, in join order, subscribed to its topic. A pure
 * function of the member list, so members agree without a leader.
 */
export function assignRoundRobin(members: readonly MemberInfo[]): Map<string, TopicPartition[]> {
  const ordered = [...members].sort(memberOrder);
  const result = new Map<string, TopicPartition[]>();
  for (const m of ordered) result.set(m.memberId, []);
  const counts = new Map<string, number>();
  for (const m of ordered) {
    for (const [topic, count] of Object.entries(m.topics)) {
      // Members that saw different counts (impossible today: counts never change) take the largest.
      counts.set(topic, Math.max(count, counts.get(topic) ?? 0));
    }
  }
  const topics = [...counts.keys()].sort();
  let next = 0;
  for (const topic of topics) {
    const count = counts.get(topic)!;
    for (let partition = 0; partition < count; partition++) {
      for (let tried = 0; tried < ordered.length; tried++) {
        const i = (next + tried) % ordered.length;
        const member = ordered[i]!;
        if (member.topics[topic] !== undefined) {
          result.get(member.memberId)!.push({ topic, partition });
          next = i + 1;
          break;
        }
      }
    }
  }
  return result;
}
