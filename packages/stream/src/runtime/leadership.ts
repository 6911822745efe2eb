import type { Consumer, Log } from '@tracklane/log';
import type { Logger } from './logger.ts';
import { sleep } from './retry.ts';

export interface LeadershipOptions {
  log: Log;
  /** A one-partition topic that only carries the group's membership (no records are ever appended). */
  topic: string;
  group: string;
  /** Called on every change, one call at a time, in order: true when this member leads, false when not. */
  onChange: (leading: boolean) => Promise<void>;
  logger: Logger;
  /** How long a poll of the (empty) topic waits: membership upkeep happens around it. Default 1000 ms. */
  pollTimeoutMs?: number;
}

/**
 * One active member at a time among any number of processes, taken from the log's own consumer groups:
 * every member subscribes to a one-partition topic and the member that owns partition 0 leads. When it
 * leaves or dies, the log's group machinery (the NATS member keys' expiry, Kafka's group coordinator,
 * the embedded log's in-process group) hands the partition to another member after its session timeout;
 * nothing here votes or keeps time of its own.
 *
 * Like any lease, it can overlap for up to a session timeout when the old leader is cut off but alive: it
 * finds out on its next heartbeat. Callers must tolerate two leaders briefly (the built-in pipelines do:
 * both compute from the same log, and the newer leader's rows carry higher versions).
 */
export class Leadership {
  #leading = false;
  #closed = false;
  #changes: Promise<void> = Promise.resolve();
  #loop: Promise<void> | undefined;

  private constructor(
    private readonly options: LeadershipOptions,
    private readonly consumer: Consumer,
  ) {}

  static async join(options: LeadershipOptions): Promise<Leadership> {
    await options.log.ensureTopic(options.topic, { partitions: 1 });
    const consumer = await options.log.consumer({ group: options.group, topics: [options.topic] });
    const leadership = new Leadership(options, consumer);
    consumer.onRebalance((assignment) =>
      leadership.#follow(assignment.some((p) => p.topic === options.topic && p.partition === 0)),
    );
    leadership.#loop = leadership.#keepMembership();
    return leadership;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Resolves once every change seen so far has been handled by `onChange`. */
  settled(): Promise<void> {
    return this.#changes;
  }

  /** Stops leading (handled by `onChange(false)`) and leaves the group, so another member takes over now. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#loop;
    this.#follow(false);
    await this.#changes;
    await this.consumer.close();
  }

  #follow(leading: boolean): void {
    if (this.#closed && leading) return;
    if (leading === this.#leading) return;
    this.#leading = leading;
    this.options.logger.info({ group: this.options.group, leading }, leading ? 'leading' : 'standing by');
    this.#changes = this.#changes.then(() =>
      this.options.onChange(leading).catch((err: unknown) => {
        // A failed start must not leave this member holding the lease while doing nothing: leave the group
        // so another member can lead, and say so.
        this.options.logger.error(
          { err, group: this.options.group },
          'leader failed to start; giving up the lead',
        );
        void this.close();
      }),
    );
  }

  /**
   * Polls the empty topic so that adapters which keep membership alive in `poll` (and learn of
   * reassignments there) do so; errors during broker elections are retried.
   */
  async #keepMembership(): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      try {
        await this.consumer.poll({ maxRecords: 1, timeoutMs: this.options.pollTimeoutMs ?? 1000 });
        failures = 0;
      } catch (err) {
        if (this.#closed) return;
        failures++;
        this.options.logger.warn(
          { err, group: this.options.group, failures },
          'leadership poll failed; retrying',
        );
        await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }
}
