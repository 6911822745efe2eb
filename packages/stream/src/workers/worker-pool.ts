import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, type Worker } from 'node:worker_threads';
import { TracklaneError } from '@tracklane/core';
import type { Log } from '@tracklane/log';
import Database from 'better-sqlite3';
import type { CheckpointInfo, EngineStats } from '../runtime/engine.ts';
import { type Logger, silentLogger } from '../runtime/logger.ts';
import { sleep } from '../runtime/retry.ts';
import type { SinkStore } from '../sinks/sink-store.ts';
import { serveLog } from './log-host.ts';
import type {
  WorkerCheckpointEvent,
  WorkerEngineOptions,
  WorkerInit,
  WorkerLogEvent,
  WorkerReadyEvent,
} from './protocol.ts';
import { RpcPeer } from './rpc.ts';
import { spawnWorker } from './spawn.ts';
import { StoreQueue, serveStore } from './store-host.ts';

export interface WorkerPoolOptions<D = unknown> extends WorkerEngineOptions {
  /** The log, owned by this (main) thread; workers reach it through a proxy. */
  log: Log;
  /** The store the pipelines' sinks write to; workers get its sink methods through a proxy. */
  store?: SinkStore;
  /** The module whose export builds the pipelines (a `PipelineFactory`), e.g. `new URL('./p.ts', import.meta.url)`. */
  module: string | URL;
  /** Default 'pipelines'. */
  exportName?: string;
  /** Handed to the factory in every worker (structured-cloned). */
  data?: D;
  /** Worker threads to start with. */
  workers: number;
  logger?: Logger;
  onCheckpoint?: (info: CheckpointInfo) => void;
  /** Wait before replacing a worker thread that died. Default 1000 ms. */
  restartDelayMs?: number;
  /** How long a worker may take to finish its batch and checkpoint on stop before it is terminated. Default 30 s. */
  stopTimeoutMs?: number;
}

interface Member {
  index: number;
  thread: Worker;
  control: RpcPeer;
  hosts: RpcPeer[];
  stats: EngineStats;
  /** Set when the pool asked it to stop, so its exit is not a crash. */
  leaving: boolean;
  exited: Promise<void>;
}

const EMPTY_STATS: EngineStats = { records: 0, deadLettered: 0, retried: 0, checkpoints: 0, partitions: [] };

/**
 * The default number of stream worker threads: one core stays with the main thread (collector, log
 * appends and fsyncs, the storage writer and the sink writes all run there), the rest up to two go to the
 * workers. Checkpoints of all workers take turns on one SQLite write lock and their sink writes run on the
 * main thread, so more workers add little beyond that. On one core, 0: pipelines run on the main thread,
 * with no copying between threads.
 */
export function defaultStreamWorkers(): number {
  return Math.max(0, Math.min(2, availableParallelism() - 1));
}

/**
 * Runs pipelines in worker threads. Each worker builds the same pipelines from `module` and runs an
 * engine whose consumer joins `group` on the main thread's log, so the group's assignment spreads the
 * partitions over the workers, and adding, removing or losing a worker rebalances them. Every worker's
 * engine keeps its state in the one SQLite file of the group (`<stateDir>/<group>.sqlite`, WAL), where
 * offsets, watermarks, dedupe ids, sessions and window totals are stored per partition, so a partition
 * that moves resumes from its last checkpoint, whoever wrote it. A worker that dies rolls back its open
 * checkpoint (SQLite closes its connection with the thread); its consumer leaves the group, the others
 * take its partitions over, and it is replaced after `restartDelayMs`.
 */
export class StreamWorkerPool {
  private readonly members: Member[] = [];
  private readonly storeQueue: StoreQueue | undefined;
  private readonly logger: Logger;
  private readonly exportName: string;
  private readonly module: string;
  private nextIndex = 0;
  private stopping = false;
  private topic: string | undefined;
  private stateDb: Database.Database | undefined;
  /** Stats of workers that are gone, so totals never go down. */
  private readonly retired = { records: 0, deadLettered: 0, retried: 0, checkpoints: 0 };
  private readonly restarts = new Set<Promise<void>>();
  private crashCount = 0;

  constructor(private readonly options: WorkerPoolOptions) {
    if (options.stateDir === ':memory:') {
      throw new TracklaneError(
        'E_BAD_ARGUMENT',
        'worker threads share their state through a file: give the pool a stateDir, not :memory:',
      );
    }
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      throw new TracklaneError(
        'E_BAD_ARGUMENT',
        `workers must be a positive integer, got ${options.workers}`,
      );
    }
    this.storeQueue = options.store === undefined ? undefined : new StoreQueue(options.store);
    this.logger = options.logger ?? silentLogger;
    this.exportName = options.exportName ?? 'pipelines';
    this.module = options.module instanceof URL ? options.module.href : options.module;
  }

  async start(): Promise<void> {
    try {
      await Promise.all(Array.from({ length: this.options.workers }, () => this.spawn()));
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Live worker threads, oldest first (for operators and tests: `terminate()` one to see a crash). */
  get threads(): Worker[] {
    return this.members.map((m) => m.thread);
  }

  /** Starts one more worker; resolves once it runs (its partitions come from the rebalance it causes). */
  async addWorker(): Promise<void> {
    if (this.stopping) throw new TracklaneError('E_LOG_CLOSED', 'the worker pool is stopping');
    await this.spawn();
  }

  /** Stops the newest worker gracefully (last checkpoint, then it leaves the group). */
  async removeWorker(): Promise<void> {
    const member = this.members.at(-1);
    if (member === undefined) return;
    await this.retire(member);
  }

  /** Worker threads that died without being asked to stop, since the pool started. */
  get crashes(): number {
    return this.crashCount;
  }

  /** Per live worker, oldest first, as of its newest checkpoint. */
  workerStats(): EngineStats[] {
    return this.members.map((m) => m.stats);
  }

  stats(): EngineStats {
    const out = { ...this.retired, partitions: [] as number[] };
    for (const m of this.members) {
      out.records += m.stats.records;
      out.deadLettered += m.stats.deadLettered;
      out.retried += m.stats.retried;
      out.checkpoints += m.stats.checkpoints;
      out.partitions.push(...m.stats.partitions);
    }
    out.partitions.sort((a, b) => a - b);
    return out;
  }

  /**
   * Records appended to the source topic but not yet covered by a committed checkpoint, whichever worker
   * owns (or will own) the partition: read from the state file, so a rebalance in progress does not hide
   * a partition's backlog.
   */
  async lag(): Promise<number> {
    const topic = this.topic;
    if (topic === undefined) return 0;
    // A reader in WAL mode never waits for the workers' write lock, so this never blocks the main thread.
    this.stateDb ??= new Database(join(this.options.stateDir, `${this.options.group}.sqlite`), {
      readonly: true,
      fileMustExist: true,
    });
    const rows = this.stateDb
      .prepare('SELECT partition, next_offset FROM offsets WHERE topic = ?')
      .all(topic) as Array<{ partition: number; next_offset: number }>;
    const done = new Map(rows.map((r) => [r.partition, r.next_offset]));
    let lag = 0;
    for (const { partition, start, end } of await this.options.log.offsets(topic)) {
      lag += Math.max(0, end - Math.max(start, done.get(partition) ?? start));
    }
    return lag;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.restarts]);
    await Promise.all([...this.members].map((m) => this.retire(m)));
    this.stateDb?.close();
    this.stateDb = undefined;
  }

  private async retire(member: Member): Promise<void> {
    if (member.leaving) return member.exited;
    member.leaving = true;
    const timeout = this.options.stopTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        member.control.call('stop', []),
        new Promise((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new TracklaneError('E_NOT_READY', `worker ${member.index} did not stop within ${timeout} ms`),
              ),
            timeout,
          );
        }),
      ]);
    } catch (err) {
      this.logger.warn({ err, worker: member.index }, 'stream worker did not stop cleanly; terminating it');
    } finally {
      clearTimeout(timer);
    }
    await member.thread.terminate();
    await member.exited;
  }

  private spawn(): Promise<void> {
    const index = this.nextIndex++;
    const log = new MessageChannel();
    const control = new MessageChannel();
    const store = this.storeQueue === undefined ? undefined : new MessageChannel();
    const init: WorkerInit = {
      index,
      module: this.module,
      exportName: this.exportName,
      data: this.options.data,
      engine: engineOptions(this.options),
      logPort: log.port2,
      storePort: store?.port2,
      controlPort: control.port2,
      checkpoints: this.options.onCheckpoint !== undefined,
    };
    const transfer = [log.port2, control.port2, ...(store === undefined ? [] : [store.port2])];
    const thread = spawnWorker(new URL('./worker-entry.ts', import.meta.url), {
      workerData: init,
      transferList: transfer,
      name: `tracklane-stream-${index}`,
    });
    const hosts = [serveLog(log.port1, this.options.log)];
    if (store !== undefined) hosts.push(serveStore(store.port1, this.storeQueue!));
    let ready!: () => void;
    let failed!: (err: unknown) => void;
    const started = new Promise<void>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    let member!: Member;
    const controlPeer = new RpcPeer(control.port1, {}, (name, payload) => {
      if (name === 'log') {
        const { level, obj, msg } = payload as WorkerLogEvent;
        this.logger[level](obj, msg);
      } else if (name === 'checkpoint') {
        const event = payload as WorkerCheckpointEvent;
        member.stats = event.stats;
        if (event.info !== undefined) this.options.onCheckpoint?.(event.info);
      } else if (name === 'stats') {
        member.stats = payload as EngineStats;
      } else if (name === 'ready') {
        const event = payload as WorkerReadyEvent;
        this.topic = event.topic;
        member.stats = event.stats;
        ready();
      }
    });
    let lastError: unknown;
    thread.on('error', (err) => {
      lastError = err;
    });
    const exited = new Promise<void>((resolve) => {
      thread.once('exit', (code) => {
        // Its consumers leave the group now, so the others are assigned its partitions.
        for (const host of hosts) host.close();
        controlPeer.close();
        const at = this.members.indexOf(member);
        if (at >= 0) this.members.splice(at, 1);
        const s = member.stats;
        this.retired.records += s.records;
        this.retired.deadLettered += s.deadLettered;
        this.retired.retried += s.retried;
        this.retired.checkpoints += s.checkpoints;
        member.stats = EMPTY_STATS;
        failed(
          lastError ??
            new TracklaneError(
              'E_NOT_READY',
              `stream worker ${index} exited with code ${code} before it started`,
            ),
        );
        if (!member.leaving) this.crashed(member, code, lastError);
        resolve();
      });
    });
    member = { index, thread, control: controlPeer, hosts, stats: EMPTY_STATS, leaving: false, exited };
    this.members.push(member);
    return started;
  }

  private crashed(member: Member, code: number, err: unknown): void {
    this.crashCount++;
    this.logger.error(
      { err, code, worker: member.index },
      'stream worker thread died; the others take its partitions over from their last checkpoint',
    );
    if (this.stopping) return;
    const restart = (async () => {
      await sleep(this.options.restartDelayMs ?? 1000);
      if (this.stopping) return;
      await this.spawn().catch((e: unknown) =>
        this.logger.error({ err: e }, 'could not replace a stream worker thread; running with fewer'),
      );
    })();
    this.restarts.add(restart);
    void restart.finally(() => this.restarts.delete(restart));
  }
}

function engineOptions(options: WorkerPoolOptions): WorkerEngineOptions {
  const out: WorkerEngineOptions = { group: options.group, stateDir: options.stateDir };
  const keys = [
    'maxPollRecords',
    'pollTimeoutMs',
    'checkpointIntervalMs',
    'maxInFlightBatches',
    'retry',
    'deadLetterTopic',
    'sampleEvery',
    'versionBase',
  ] as const;
  for (const key of keys) {
    if (options[key] !== undefined) Object.assign(out, { [key]: options[key] });
  }
  return out;
}

/** Creates and starts a pool of stream worker threads. */
export async function startWorkerPool<D>(options: WorkerPoolOptions<D>): Promise<StreamWorkerPool> {
  const pool = new StreamWorkerPool(options as WorkerPoolOptions);
  await pool.start();
  return pool;
}
