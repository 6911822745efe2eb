import type { TopicPartition } from '@tracklane/log';

export interface AssignmentChange {
  /** Newly assigned: start at the group's committed offset. */
  added: TopicPartition[];
  /** Taken away: stop fetching, drop the position. */
  revoked: TopicPartition[];
  /** Held before and after: keep the position, never re-seek (a rebalance must not rewind a member). */
  kept: TopicPartition[];
}

const key = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;

/**
 * What changed between two assignments of one member, whatever protocol produced them: the classic
 * protocol hands a whole new assignment per generation, KIP-848 adds and revokes partitions a few at a
 * time. Duplicates in either list count once; order follows the input.
 */
export function diffAssignment(
  previous: readonly TopicPartition[],
  next: readonly TopicPartition[],
): AssignmentChange {
  const before = new Set(previous.map(key));
  const after = new Set(next.map(key));
  const change: AssignmentChange = { added: [], revoked: [], kept: [] };
  const seen = new Set<string>();
  for (const tp of next) {
    const k = key(tp);
    if (seen.has(k)) continue;
    seen.add(k);
    (before.has(k) ? change.kept : change.added).push({ topic: tp.topic, partition: tp.partition });
  }
  seen.clear();
  for (const tp of previous) {
    const k = key(tp);
    if (seen.has(k) || after.has(k)) continue;
    seen.add(k);
    change.revoked.push({ topic: tp.topic, partition: tp.partition });
  }
  return change;
}

/** Whether a change changes anything (listeners hear only real changes). */
export function isChange(change: AssignmentChange): boolean {
  return change.added.length > 0 || change.revoked.length > 0;
}
