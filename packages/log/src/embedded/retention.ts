import type { TopicConfig } from '../log.ts';
import type { Partition } from './partition.ts';

export interface RetentionTarget {
  config: TopicConfig;
  partitions: readonly Partition[];
}

/** Applies each topic's age and size limits to its partitions; whole closed segments only. */
export async function applyRetention(topics: Iterable<RetentionTarget>, now: number): Promise<void> {
  for (const topic of topics) {
    const { retentionMs, retentionBytes } = topic.config;
    if (retentionMs === undefined && retentionBytes === undefined) continue;
    for (const partition of topic.partitions) {
      await partition.enforceRetention(now, retentionMs, retentionBytes);
    }
  }
}

/**
 * Runs retention on demand, on an unref'd timer and after segment rolls. Runs are serialized (two passes
 * deleting the same segment would race) and a failed background pass is simply retried by the next one.
 */
export class RetentionScheduler {
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout | null;
  private stopped = false;

  constructor(
    private readonly apply: () => Promise<void>,
    intervalMs: number,
  ) {
    this.timer = intervalMs > 0 ? setInterval(() => this.trigger(), intervalMs) : null;
    this.timer?.unref();
  }

  run(): Promise<void> {
    // After stop, files may already be closed and the lock released: deleting segments then would race a
    // new owner of the directory.
    if (this.stopped) return Promise.resolve();
    const run = this.chain.catch(() => undefined).then(() => (this.stopped ? undefined : this.apply()));
    this.chain = run;
    return run;
  }

  /** Background run: errors are dropped here because the next scheduled run retries the same work. */
  trigger(): void {
    this.run().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.chain.catch(() => undefined);
  }
}
