import type { TopicPartition } from '@tracklane/log';

export interface StickyMember {
  readonly id: string;
  /** Topics the member subscribes to. */
  readonly topics: readonly string[];
  /** Partitions the member holds now (what it told the group when it joined). */
  readonly owned: readonly TopicPartition[];
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

const byTopicPartition = (a: TopicPartition, b: TopicPartition) =>
  a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;

/**
 * A sticky assignment for the classic group protocol: every member keeps what it holds, up to its fair
 * share, and only the rest moves. A pure function of its input (the group leader runs it), so it is tested
 * without a broker.
 *
 * When the members subscribe to the same topics (every member of a Tracklane group does: a group is one
 * processor role), the result is balanced within one partition and moves the fewest partitions possible:
 * the members that hold the most get the larger shares (`ceil(n / m)`), so the partitions given up are only
 * each member's excess over its share, plus those nobody held. With different subscriptions it still
 * assigns every partition exactly once to a subscriber, least-loaded first, but balance is best effort.
 *
 * `partitionCount` gives each topic's partition count (0 or less: unknown topic, nothing to assign).
 * Returns each member's partitions, in (topic, partition) order, keyed by member id.
 */
export function assignSticky(
  members: readonly StickyMember[],
  partitionCount: (topic: string) => number,
): Map<string, TopicPartition[]> {
  // Sorted by id so that every leader, given the same group, computes the same assignment.
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const result = new Map<string, TopicPartition[]>(sorted.map((m) => [m.id, []]));
  if (sorted.length === 0) return result;

  const subscribers = new Map<string, Set<string>>();
  for (const m of sorted) {
    for (const topic of m.topics) {
      let set = subscribers.get(topic);
      if (!set) {
        set = new Set();
        subscribers.set(topic, set);
      }
      set.add(m.id);
    }
  }
  const all: TopicPartition[] = [];
  const counts = new Map<string, number>();
  for (const topic of [...subscribers.keys()].sort()) {
    const n = Math.max(0, Math.floor(partitionCount(topic)));
    counts.set(topic, n);
    for (let partition = 0; partition < n; partition++) all.push({ topic, partition });
  }

  // What each member may keep: partitions that still exist, of topics it still subscribes to, claimed by
  // no earlier member (two claims mean one member's view is stale; the first in id order keeps it).
  const claimed = new Set<string>();
  const kept = new Map<string, TopicPartition[]>();
  for (const m of sorted) {
    const mine: TopicPartition[] = [];
    for (const tp of [...m.owned].sort(byTopicPartition)) {
      const k = key(tp.topic, tp.partition);
      const valid =
        subscribers.get(tp.topic)?.has(m.id) === true &&
        Number.isInteger(tp.partition) &&
        tp.partition >= 0 &&
        tp.partition < (counts.get(tp.topic) ?? 0);
      if (!valid || claimed.has(k)) continue;
      claimed.add(k);
      mine.push(tp);
    }
    kept.set(m.id, mine);
  }

  // Shares: the members holding the most get the `extra` larger shares, so the fewest partitions move.
  const base = Math.floor(all.length / sorted.length);
  const extra = all.length % sorted.length;
  const byHeld = [...sorted].sort((a, b) => kept.get(b.id)!.length - kept.get(a.id)!.length);
  const quota = new Map<string, number>();
  for (let i = 0; i < byHeld.length; i++) quota.set(byHeld[i]!.id, base + (i < extra ? 1 : 0));

  const pool: TopicPartition[] = [];
  for (const m of sorted) {
    const mine = kept.get(m.id)!;
    const q = quota.get(m.id)!;
    // Over its share: give up the highest partitions; they are re-assigned below.
    if (mine.length > q) pool.push(...mine.splice(q));
    result.get(m.id)!.push(...mine);
  }
  for (const tp of all) if (!claimed.has(key(tp.topic, tp.partition))) pool.push(tp);
  pool.sort(byTopicPartition);

  for (const tp of pool) {
    let best: StickyMember | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    for (const m of sorted) {
      if (!subscribers.get(tp.topic)?.has(m.id)) continue;
      const held = result.get(m.id)!.length;
      // Under its share first; then the least loaded. Ties go to the first member in id order.
      const score = (held < quota.get(m.id)! ? 0 : 1e9) + held;
      if (score < bestScore) {
        best = m;
        bestScore = score;
      }
    }
    if (best) result.get(best.id)!.push(tp);
  }
  for (const list of result.values()) list.sort(byTopicPartition);
  return result;
}
