import type {
  GroupPartitionsAssigner,
  GroupPartitionsAssignments,
  GroupProtocolSubscription,
} from '@platformatic/kafka';
import type { TopicPartition } from '@tracklane/log';
import { assignSticky } from './sticky-assignor.ts';

/** The classic-protocol assignor name members offer first; every Tracklane member of a group offers it. */
export const STICKY_PROTOCOL = 'tracklane-sticky';
/** Offered second, so members of the previous (round-robin) version can share a group during an upgrade. */
const ROUND_ROBIN_PROTOCOL = 'roundrobin';
const USER_DATA_VERSION = 1;

/** Owned partitions (Kafka topic names), as the subscription's user data: small JSON, read only by leaders. */
export function encodeOwned(owned: readonly TopicPartition[]): Buffer {
  const byTopic: Record<string, number[]> = {};
  for (const tp of owned) {
    byTopic[tp.topic] ??= [];
    byTopic[tp.topic]!.push(tp.partition);
  }
  for (const list of Object.values(byTopic)) list.sort((a, b) => a - b);
  return Buffer.from(JSON.stringify({ v: USER_DATA_VERSION, owned: byTopic }), 'utf8');
}

/**
 * The partitions a member says it owns. Anything unreadable (an older member's empty user data, another
 * client's format) counts as owning nothing: that member's partitions may move, nothing worse.
 */
export function decodeOwned(data: Buffer | string | null | undefined): TopicPartition[] {
  if (data === null || data === undefined || data.length === 0) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    return [];
  }
  const { v, owned } = (parsed ?? {}) as { v?: unknown; owned?: unknown };
  if (v !== USER_DATA_VERSION || typeof owned !== 'object' || owned === null) return [];
  const out: TopicPartition[] = [];
  for (const [topic, partitions] of Object.entries(owned)) {
    if (!Array.isArray(partitions)) continue;
    for (const partition of partitions) if (Number.isSafeInteger(partition)) out.push({ topic, partition });
  }
  return out;
}

/**
 * A member's classic-protocol subscription. The client encodes `protocols[i].metadata` afresh on every
 * JoinGroup (also the rejoins it makes on its own), so updating it after each assignment change is what
 * tells the next leader what this member holds.
 */
export class StickySubscription {
  readonly protocols: GroupProtocolSubscription[] = [
    { name: STICKY_PROTOCOL, version: USER_DATA_VERSION, metadata: encodeOwned([]) },
    { name: ROUND_ROBIN_PROTOCOL, version: 1, metadata: encodeOwned([]) },
  ];

  update(owned: readonly TopicPartition[]): void {
    const metadata = encodeOwned(owned);
    for (const p of this.protocols) p.metadata = metadata;
  }
}

/** The client hook the group leader runs in SyncGroup: `assignSticky` over the members' subscriptions. */
export const stickyPartitionAssigner: GroupPartitionsAssigner = (_current, members, topics, metadata) => {
  const input = [...members.values()].map((m) => ({
    id: m.memberId,
    topics: m.topics ?? [...topics],
    owned: decodeOwned(m.metadata),
  }));
  const assignment = assignSticky(input, (topic) => metadata.topics.get(topic)?.partitionsCount ?? 0);
  const out: GroupPartitionsAssignments[] = [];
  for (const [memberId, partitions] of assignment) {
    const assignments = new Map<string, { topic: string; partitions: number[] }>();
    for (const tp of partitions) {
      let entry = assignments.get(tp.topic);
      if (!entry) {
        entry = { topic: tp.topic, partitions: [] };
        assignments.set(tp.topic, entry);
      }
      entry.partitions.push(tp.partition);
    }
    out.push({ memberId, assignments });
  }
  return out;
};
