import type { Log, LogRecord } from '@tracklane/log';
import type { Pipeline } from '../pipeline.ts';
import { backoff, DEFAULT_RETRY, type RetryPolicy, sleep } from './retry.ts';
import { PipelineTask, StageError, type TaskSnapshot, type TaskState } from './task.ts';

interface DecodeGroup {
  decode: (record: LogRecord) => unknown;
  tasks: PipelineTask[];
}

export interface ProcessorOptions {
  log: Log;
  pipelines: readonly Pipeline[];
  retry?: Partial<RetryPolicy>;
  deadLetterTopic?: string;
  /** Every n-th record's append time is kept for freshness measurements (0: none). */
  sampleEvery?: number;
}

export interface ProcessorStats {
  records: number;
  deadLettered: number;
  retried: number;
}

/**
 * Runs records of the partitions it holds through every pipeline's task, decoding once per distinct
 * decoder. The hot path is a plain loop; a record that throws leaves it for a retry-with-backoff path and,
 * when the retries are spent, goes to the dead-letter topic so one poison event never wedges a partition.
 */
export class Processor {
  readonly positions = new Map<number, number>();
  readonly stats: ProcessorStats = { records: 0, deadLettered: 0, retried: 0 };
  private readonly partitions = new Map<number, DecodeGroup[]>();
  private readonly retry: RetryPolicy;
  private readonly deadLetterTopic: string;
  private samples: number[] = [];
  private readonly sampleEvery: number;

  constructor(private readonly options: ProcessorOptions) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.deadLetterTopic = options.deadLetterTopic ?? 'dead-letter';
    this.sampleEvery = options.sampleEvery ?? 0;
  }

  get owned(): number[] {
    return [...this.partitions.keys()];
  }

  addPartition(
    partition: number,
    offset: number,
    state: (pipeline: Pipeline) => TaskState | undefined,
  ): void {
    const groups: DecodeGroup[] = [];
    for (const pipeline of this.options.pipelines) {
      const task = new PipelineTask(pipeline, partition);
      const restored = state(pipeline);
      if (restored !== undefined) task.restore(restored);
      const decode = pipeline.source.decode;
      const group = groups.find((g) => g.decode === decode);
      if (group === undefined) groups.push({ decode, tasks: [task] });
      else group.tasks.push(task);
    }
    this.partitions.set(partition, groups);
    this.positions.set(partition, offset);
  }

  removePartition(partition: number): void {
    this.partitions.delete(partition);
    this.positions.delete(partition);
  }

  async process(records: readonly LogRecord[]): Promise<void> {
    const every = this.sampleEvery;
    // Polls return runs of one partition: look the partition up only when it changes.
    let partition = -1;
    let groups: DecodeGroup[] | undefined;
    let position = 0;
    try {
      for (let r = 0; r < records.length; r++) {
        const record = records[r]!;
        if (record.partition !== partition) {
          if (groups !== undefined) this.positions.set(partition, position);
          partition = record.partition;
          groups = this.partitions.get(partition);
          position = groups === undefined ? 0 : this.positions.get(partition)!;
        }
        if (groups === undefined) continue;
        // A rebalance or seek may hand back records already processed; the position is the truth.
        if (record.offset < position) continue;
        for (let g = 0; g < groups.length; g++) {
          const group = groups[g]!;
          let value: unknown;
          try {
            value = group.decode(record);
          } catch (err) {
            value = await this.retryDecode(group, record, err);
            if (value === FAILED) continue;
          }
          const tasks = group.tasks;
          for (let t = 0; t < tasks.length; t++) {
            const task = tasks[t]!;
            try {
              task.process(record, value);
            } catch (err) {
              await this.recover(task, group.decode, record, err);
            }
          }
        }
        position = record.offset + 1;
        this.stats.records++;
        if (every > 0 && this.stats.records % every === 0) this.samples.push(record.timestamp);
      }
    } finally {
      // Kept exact even when dead-lettering fails midway (the engine then restarts from its checkpoint).
      if (groups !== undefined) this.positions.set(partition, position);
    }
  }

  capture(): { snapshots: TaskSnapshot[]; samples: number[] } {
    const snapshots: TaskSnapshot[] = [];
    for (const groups of this.partitions.values()) {
      for (const group of groups) for (const task of group.tasks) snapshots.push(task.capture());
    }
    const samples = this.samples;
    this.samples = [];
    return { snapshots, samples };
  }

  private async retryDecode(group: DecodeGroup, record: LogRecord, first: unknown): Promise<unknown> {
    let error = first;
    for (let attempt = 0; attempt < this.retry.retries; attempt++) {
      this.stats.retried++;
      await sleep(backoff(this.retry, attempt));
      try {
        return group.decode(record);
      } catch (err) {
        error = err;
      }
    }
    const names = group.tasks.map((t) => t.pipeline.name).join(',');
    await this.deadLetter(names, 'decode', error, record);
    return FAILED;
  }

  private async recover(
    task: PipelineTask,
    decode: (record: LogRecord) => unknown,
    record: LogRecord,
    first: unknown,
  ): Promise<void> {
    let error = first;
    for (let attempt = 0; attempt < this.retry.retries; attempt++) {
      this.stats.retried++;
      await sleep(backoff(this.retry, attempt));
      try {
        // Decoded afresh: a failed attempt may have mutated the value it was given.
        task.process(record, decode(record));
        return;
      } catch (err) {
        error = err;
      }
    }
    await this.deadLetter(
      task.pipeline.name,
      error instanceof StageError ? error.stage : 'unknown',
      error,
      record,
    );
  }

  async deadLetter(pipeline: string, operator: string, error: unknown, record: LogRecord): Promise<void> {
    const cause = error instanceof StageError ? error.original : error;
    const reason = cause instanceof Error ? cause.message : String(cause);
    this.stats.deadLettered++;
    await this.options.log.append(this.deadLetterTopic, [
      {
        key: record.key,
        value: record.value,
        headers: {
          stage: pipeline,
          reason: reason.slice(0, 1000),
          operator,
          'source-topic': record.topic,
          'source-partition': String(record.partition),
          'source-offset': String(record.offset),
        },
      },
    ]);
  }
}

const FAILED = Symbol('failed');
