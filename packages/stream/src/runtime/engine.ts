import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { TracklaneError } from '@tracklane/core';
import type { Consumer, Log, TopicPartition } from '@tracklane/log';
import { Checkpointer, type PartitionCheckpoint } from '../checkpoint/checkpointer.ts';
import type { Pipeline } from '../pipeline.ts';
import { openStateDb, type StateDb } from '../state/state-db.ts';
import { type Logger, silentLogger } from './logger.ts';
import { openSinks, writeOutputs } from './outputs.ts';
import { Processor } from './processor.ts';
import { type RetryPolicy, sleep } from './retry.ts';
import type { TaskSnapshot } from './task.ts';

export interface EngineOptions {
  log: Log;
  /** Pipelines over the same source topic; each record is read and decoded once for all of them. */
  pipelines: Pipeline[];
  /** Consumer group; engines with the same group split the topic's partitions. */
  group: string;
  /** Directory for the state database (`<dir>/<group>.sqlite`), or ':memory:'. */
  stateDir: string;
  maxPollRecords?: number;
  pollTimeoutMs?: number;
  /** Checkpoint at most this often (ms). Default 200: also the bound on result freshness. */
  checkpointIntervalMs?: number;
  /** Batches processed while a checkpoint is being written before processing waits for it. Default 4. */
  maxInFlightBatches?: number;
  retry?: Partial<RetryPolicy>;
  deadLetterTopic?: string;
  logger?: Logger;
  /** Called after each committed checkpoint (benchmarks use the sampled append times for freshness). */
  onCheckpoint?: (info: CheckpointInfo) => void;
  /** Keep every n-th record's append time for `onCheckpoint`. Default 0 (none). */
  sampleEvery?: number;
  /**
   * Added to every checkpoint's sink version (the sum of committed source offsets). A process taking over
   * pipelines whose rows another process wrote from its own state starts above every version already
   * written, so its rows replace theirs (see `singleActive` in the built-in pipelines). Default 0.
   */
  versionBase?: number;
}

export interface CheckpointInfo {
  committedAt: number;
  appendTimes: number[];
  offsets: PartitionCheckpoint[];
}

export interface EngineStats {
  records: number;
  deadLettered: number;
  retried: number;
  checkpoints: number;
  partitions: number[];
}

/**
 * Runs pipelines on a consumer group: pull-based (`poll` with bounded maxRecords), checkpointing state and
 * offsets together, seeking to its own checkpointed offsets whenever partitions are assigned. Partitions
 * are processed concurrently by interleaving on one thread; more engines in the same group (in this
 * process or another sharing the state file) split the partitions.
 */
export class StreamEngine {
  private readonly topic: string;
  private readonly state: StateDb;
  private checkpointer!: Checkpointer;
  private readonly processor: Processor;
  private readonly logger: Logger;
  private consumer: Consumer | undefined;
  private assignment: TopicPartition[] | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private inflight: Promise<void> | undefined;
  private lastCapture = 0;
  private batchesSinceCapture = 0;
  private dirty = false;
  private checkpoints = 0;
  /** The last mirror of checkpointed offsets into the consumer group failed (see `commitGroup`). */
  private groupCommitFailed = false;
  private readonly committed = new Map<number, number>();
  /** Owned partitions missing from some assignment since the last rebalance ran (see `rebalance`). */
  private readonly revoked = new Set<number>();
  private readonly memberId = randomUUID();

  constructor(private readonly options: EngineOptions) {
    const topics = new Set(options.pipelines.map((p) => p.source.topic));
    if (topics.size !== 1) {
      throw new TracklaneError('E_BAD_ARGUMENT', 'an engine runs pipelines over exactly one source topic');
    }
    const names = new Set(options.pipelines.map((p) => p.name));
    if (names.size !== options.pipelines.length) {
      throw new TracklaneError('E_BAD_ARGUMENT', 'pipeline names in one engine must be unique');
    }
    this.topic = [...topics][0]!;
    this.logger = options.logger ?? silentLogger;
    const path =
      options.stateDir === ':memory:' ? ':memory:' : join(options.stateDir, `${options.group}.sqlite`);
    this.state = openStateDb(path);
    this.processor = new Processor({
      log: options.log,
      pipelines: options.pipelines,
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.deadLetterTopic === undefined ? {} : { deadLetterTopic: options.deadLetterTopic }),
      sampleEvery: options.sampleEvery ?? 0,
    });
  }

  async start(): Promise<void> {
    const { log } = this.options;
    await log.ensureTopic(this.options.deadLetterTopic ?? 'dead-letter', { partitions: 1 });
    for (const p of this.options.pipelines) {
      if (typeof p.late === 'string') await log.ensureTopic(p.late, { partitions: 1 });
    }
    await openSinks(this.options.pipelines);
    const { config } = await log.describeTopic(this.topic);
    this.checkpointer = new Checkpointer(
      this.state,
      this.topic,
      this.memberId,
      config.partitions,
      this.options.versionBase ?? 0,
    );
    const consumer = await log.consumer({
      group: this.options.group,
      topics: [this.topic],
      from: 'earliest',
    });
    this.consumer = consumer;
    consumer.onRebalance((assignment) => {
      this.assignment = assignment;
      for (const p of this.processor.owned) {
        if (!assignment.some((tp) => tp.topic === this.topic && tp.partition === p)) this.revoked.add(p);
      }
    });
    this.assignment ??= consumer.assignment();
    // Own (and have seeked) the first assignment before start resolves, so `lag()` means something.
    await this.rebalance(consumer);
    this.loop = this.run(consumer);
  }

  stats(): EngineStats {
    return { ...this.processor.stats, checkpoints: this.checkpoints, partitions: this.processor.owned };
  }

  /** Records of owned partitions not yet covered by a committed checkpoint. */
  async lag(): Promise<number> {
    const ends = await this.options.log.offsets(this.topic);
    let lag = 0;
    for (const p of this.processor.owned) {
      const end = ends.find((o) => o.partition === p)?.end ?? 0;
      lag += Math.max(0, end - (this.committed.get(p) ?? 0));
    }
    return lag;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.loop;
    await this.inflight;
    await this.checkpoint();
    await this.inflight;
    await this.consumer?.close();
    this.state.release();
  }

  private async run(consumer: Consumer): Promise<void> {
    const { maxPollRecords = 1000, pollTimeoutMs = 100, checkpointIntervalMs = 200 } = this.options;
    const maxInFlight = this.options.maxInFlightBatches ?? 4;
    const tables = [...new Set(this.options.pipelines.flatMap((p) => p.tables))];
    let failures = 0;
    while (!this.stopping) {
      try {
        if (this.assignment !== undefined) await this.rebalance(consumer);
        const records = await consumer.poll({ maxRecords: maxPollRecords, timeoutMs: pollTimeoutMs });
        if (records.length > 0) {
          // After the poll: every table update already in the log when these records were is then read.
          if (tables.length > 0) await Promise.all(tables.map((t) => t.catchUp()));
          await this.processor.process(records);
          this.dirty = true;
          this.batchesSinceCapture++;
        }
        // Bounded in-flight work: processing may run ahead of a checkpoint being written by at most
        // `maxInFlight` batches, so a slow sink slows consumption instead of growing memory.
        if (this.inflight !== undefined && this.batchesSinceCapture >= maxInFlight) await this.inflight;
        if (
          this.inflight === undefined &&
          this.dirty &&
          Date.now() - this.lastCapture >= checkpointIntervalMs
        ) {
          this.inflight = this.checkpoint().finally(() => {
            this.inflight = undefined;
          });
        } else if (
          this.groupCommitFailed &&
          this.inflight === undefined &&
          Date.now() - this.lastCapture >= checkpointIntervalMs
        ) {
          this.lastCapture = Date.now();
          const owned = new Set(this.processor.owned);
          this.commitGroup(
            [...this.committed]
              .filter(([p]) => owned.has(p))
              .map(([partition, offset]) => ({ partition, offset })),
          );
        }
        failures = 0;
      } catch (err) {
        failures++;
        this.logger.error({ err, group: this.options.group }, 'stream engine loop failed; retrying');
        // Processing stopped somewhere inside a batch, so in-memory state is ahead of any clean point.
        // Start over from the last checkpoint, as after a crash: drop the partitions and re-own them.
        await this.inflight?.catch(() => undefined);
        for (const p of this.processor.owned) this.processor.removePartition(p);
        this.assignment = consumer.assignment();
        await sleep(Math.min(5000, 50 * 2 ** failures));
      }
    }
  }

  private async rebalance(consumer: Consumer): Promise<void> {
    const assignment = this.assignment!;
    this.assignment = undefined;
    const wanted = new Set(assignment.filter((tp) => tp.topic === this.topic).map((tp) => tp.partition));
    // A partition revoked and handed back between two loop iterations looks kept in the newest assignment,
    // but meanwhile another member may have claimed it, and the consumer restarted it from the group's
    // offset: it is dropped and claimed afresh like a new one.
    const revoked = new Set(this.revoked);
    this.revoked.clear();
    for (const p of this.processor.owned) {
      if (!wanted.has(p) || revoked.has(p)) {
        // Uncheckpointed work on a revoked partition is dropped: its new owner resumes from our last
        // checkpoint and does it again.
        this.processor.removePartition(p);
        this.committed.delete(p);
      }
    }
    const added = [...wanted].filter((p) => !this.processor.owned.includes(p));
    if (added.length === 0) return;
    const resume = await this.checkpointer.claim(added);
    const starts = await this.options.log.offsets(this.topic);
    // The assignment may have changed while claiming: a partition no longer owned is left to the rebalance
    // that follows (this.assignment is set again), and to its owner, who takes back our late claim when
    // its next checkpoint is fenced (see `refence`).
    const owned = new Set(
      consumer
        .assignment()
        .filter((tp) => tp.topic === this.topic)
        .map((tp) => tp.partition),
    );
    for (const p of added) {
      if (!owned.has(p)) continue;
      const offset = resume.get(p) ?? starts.find((o) => o.partition === p)?.start ?? 0;
      this.processor.addPartition(p, offset, (pipeline) => this.checkpointer.load(pipeline, p));
      this.committed.set(p, offset);
      consumer.seek({ topic: this.topic, partition: p, offset });
    }
    this.logger.info(
      { group: this.options.group, partitions: this.processor.owned },
      'stream partitions assigned',
    );
  }

  /** Captures and commits; a failed commit is retried with the same snapshots until it lands. */
  private async checkpoint(): Promise<void> {
    this.lastCapture = Date.now();
    this.batchesSinceCapture = 0;
    this.dirty = false;
    const { snapshots, samples } = this.processor.capture();
    const offsets: PartitionCheckpoint[] = [...this.processor.positions].map(([partition, offset]) => ({
      partition,
      offset,
    }));
    if (offsets.length === 0) return;
    let fenced: number[] = [];
    for (let attempt = 0; ; attempt++) {
      try {
        fenced = await this.commit(snapshots, offsets);
        break;
      } catch (err) {
        this.logger.warn({ err, attempt, group: this.options.group }, 'checkpoint failed; retrying');
        if (this.stopping && attempt >= 3) return;
        await sleep(Math.min(5000, 50 * 2 ** attempt));
      }
    }
    this.checkpoints++;
    if (fenced.length > 0) this.refence(fenced);
    const landed = fenced.length === 0 ? offsets : offsets.filter((o) => !fenced.includes(o.partition));
    for (const o of landed) this.committed.set(o.partition, o.offset);
    this.commitGroup(landed);
    this.options.onCheckpoint?.({ committedAt: Date.now(), appendTimes: samples, offsets });
  }

  /**
   * Mirrors checkpointed offsets into the log's consumer group. The checkpoint is the truth (offsets live
   * with the state), so this only feeds lag readings (`tracklane-builtin` on the pipeline page, a standby
   * processor's `lag()`); a failed commit is retried from the loop, or a partition with no more records
   * would show lag forever.
   */
  private commitGroup(offsets: PartitionCheckpoint[]): void {
    if (offsets.length === 0 || this.consumer === undefined) return;
    this.groupCommitFailed = false;
    this.consumer.commit(offsets.map((o) => ({ topic: this.topic, ...o }))).catch((err: unknown) => {
      this.groupCommitFailed = true;
      this.logger.warn({ err, group: this.options.group }, 'consumer group commit failed; will retry');
    });
  }

  /**
   * Another instance claimed partitions this one still processes. Either it lost them in a rebalance it
   * has not seen yet (the next rebalance drops them), or the other instance claimed them late, over this
   * one's claim, on an assignment that was already stale. In the second case nobody would ever checkpoint
   * them again, so partitions this consumer still owns are claimed afresh and restarted from their last
   * checkpoint, like partitions revoked and handed back.
   */
  private refence(fenced: number[]): void {
    const consumer = this.consumer;
    if (consumer === undefined) return;
    this.logger.warn(
      { group: this.options.group, partitions: fenced },
      'stream partitions claimed by another member; re-claiming those still assigned here',
    );
    for (const p of fenced) this.revoked.add(p);
    this.assignment ??= consumer.assignment();
  }

  private commit(snapshots: TaskSnapshot[], offsets: PartitionCheckpoint[]): Promise<number[]> {
    return this.checkpointer.commit(snapshots, offsets, (outputs) =>
      writeOutputs(this.options.log, outputs, async (pipeline, stage, reason, payload, headers) => {
        await this.options.log.append(this.options.deadLetterTopic ?? 'dead-letter', [
          { value: payload, headers: { ...headers, stage: pipeline.name, operator: stage, reason } },
        ]);
      }),
    );
  }
}

/** Creates and starts an engine. */
export async function startEngine(options: EngineOptions): Promise<StreamEngine> {
  const engine = new StreamEngine(options);
  await engine.start();
  return engine;
}
