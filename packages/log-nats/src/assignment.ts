import { assignRoundRobin as assignEvenly, type TopicPartition } from '@tracklane/log';

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
 * The shared round-robin assignment over members in join order: a pure function of the member list, so
 * members agree without a leader.
 */
export function assignRoundRobin(members: readonly MemberInfo[]): Map<string, TopicPartition[]> {
  const ordered = [...members].sort(memberOrder);
  const counts = new Map<string, number>();
  for (const m of ordered) {
    for (const [topic, count] of Object.entries(m.topics)) {
      // Members that saw different counts (impossible today: counts never change) take the largest.
      counts.set(topic, Math.max(count, counts.get(topic) ?? 0));
    }
  }
  const assigned = assignEvenly(
    ordered.map((m) => ({ topics: Object.keys(m.topics) })),
    (topic) => counts.get(topic) ?? 0,
  );
  return new Map(ordered.map((m, i) => [m.memberId, assigned[i]!]));
}
