import { assignRoundRobin } from '../assign-round-robin.ts';
import type { TopicPartition } from '../log.ts';

/** What the coordinator needs from a member. */
export interface GroupMember {
  readonly group: string;
  readonly memberId: string;
  readonly topics: readonly string[];
  /** Receives the member's new partitions after every rebalance of its group. */
  assign(partitions: TopicPartition[]): void;
}

/**
 * Consumer-group membership for one process. There is no network protocol to run: joining or leaving simply
 * recomputes the assignment and hands every member its partitions synchronously, so two members of a group
 * never own the same partition at the same time. Committed offsets live in the OffsetStore, not here.
 */
export class GroupCoordinator {
  private readonly groups = new Map<string, GroupMember[]>();
  private nextId = 1;

  constructor(private readonly partitionCount: (topic: string) => number) {}

  newMemberId(group: string): string {
    return `${group}-${process.pid}-${this.nextId++}`;
  }

  join(member: GroupMember): void {
    let members = this.groups.get(member.group);
    if (!members) {
      members = [];
      this.groups.set(member.group, members);
    }
    members.push(member);
    this.rebalance(member.group);
  }

  leave(member: GroupMember): void {
    const members = this.groups.get(member.group);
    if (!members) return;
    const i = members.indexOf(member);
    if (i < 0) return;
    members.splice(i, 1);
    if (members.length === 0) this.groups.delete(member.group);
    else this.rebalance(member.group);
  }

  members(): GroupMember[] {
    return [...this.groups.values()].flat();
  }

  private rebalance(group: string): void {
    const members = this.groups.get(group) ?? [];
    const assignment = assignRoundRobin(members, this.partitionCount);
    for (let i = 0; i < members.length; i++) members[i]!.assign(assignment[i]!);
  }
}
