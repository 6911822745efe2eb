import { TracklaneError } from '@tracklane/core';
import type { PartitionOffsets, PollOptions, RebalanceListener, TopicPartition } from './log.ts';

/** `poll`'s defaults and argument check, the same for every Log implementation. */
export function pollLimits(options?: PollOptions): { maxRecords: number; deadline: number } {
  const maxRecords = options?.maxRecords ?? 500;
  if (!Number.isInteger(maxRecords) || maxRecords < 1) {
    throw new TracklaneError('E_BAD_ARGUMENT', 'poll maxRecords must be a positive integer');
  }
  return { maxRecords, deadline: Date.now() + (options?.timeoutMs ?? 1000) };
}

/**
 * Calls an `onRebalance` listener. One that throws must not stop its member from following the group's
 * assignment (taking or giving up partitions, or the join or leave of another member that triggered it),
 * so the error becomes a process warning.
 */
export function callRebalanceListener(
  listener: RebalanceListener,
  assignment: TopicPartition[],
  memberId: string,
): void {
  try {
    listener(assignment);
  } catch (err) {
    process.emitWarning(`onRebalance listener of ${memberId} threw: ${(err as Error).message}`);
  }
}

export interface PartitionLag {
  partition: number;
  /** Where the group resumes: its committed offset, or the earliest retained record if none. */
  committed: number;
  end: number;
  lag: number;
}

/**
 * A consumer group's lag per partition, from the topic's offsets and the group's committed offsets. With
 * nothing committed the group starts at the earliest retained record, as consumers do.
 */
export function partitionLag(
  offsets: readonly PartitionOffsets[],
  committed: ReadonlyMap<number, number>,
): PartitionLag[] {
  return offsets.map(({ partition, start, end }) => {
    const at = committed.get(partition) ?? start;
    return { partition, committed: at, end, lag: Math.max(0, end - at) };
  });
}
