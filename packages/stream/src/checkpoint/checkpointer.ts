import type Database from 'better-sqlite3';
import type { Pipeline } from '../pipeline.ts';
import type { Delta, TaskSnapshot, TaskState } from '../runtime/task.ts';
import type { StateDb } from '../state/state-db.ts';

/** What one checkpoint hands to the outputs, per pipeline, before it commits. */
export interface CheckpointOutput {
  pipeline: Pipeline;
  /** Aggregate results (current totals of every window that changed) and other terminal items. */
  items: unknown[];
  snapshots: TaskSnapshot[];
  /** Orders this checkpoint's results against earlier ones (see `SinkContext.version`). */
  version: number;
}

export interface PartitionCheckpoint {
  partition: number;
  /** The next offset to consume. */
  offset: number;
}

/**
 * Commits processing progress: the consumed offsets and every state change in one SQLite transaction, with
 * the outputs written while that transaction is open. The order is what makes results exactly-once:
 *
 * 1. window deltas are merged into the stored totals (inside the transaction, not yet committed);
 * 2. outputs are written (sink upserts of the new totals, topic appends);
 * 3. offsets and state commit together.
 *
 * A crash before 3 rolls back the state and the offsets; the records are processed again and produce the
 * same totals, which the idempotent sink upserts over what step 2 already wrote. Deltas are merged rather
 * than per-partition totals kept, so one window fed by several partitions has one true total.
 *
 * Partition ownership is fenced through the `claims` table: a checkpoint only writes partitions this
 * engine instance still owns, so an instance that lost a partition in a rebalance cannot commit over the
 * progress of its new owner.
 */
export class Checkpointer {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(
    private readonly state: StateDb,
    private readonly topic: string,
    private readonly owner: string,
    /** Partitions of the topic: totals are only dropped once every partition has a watermark. */
    private readonly partitionCount: number,
    /** Added to the offset sum that versions each checkpoint's outputs (see `EngineOptions.versionBase`). */
    private readonly versionBase = 0,
  ) {
    const db = state.db;
    this.db = db;
    this.stmts = {
      claim: db.prepare(
        'INSERT INTO claims (topic, partition, owner) VALUES (?, ?, ?) ON CONFLICT (topic, partition) DO UPDATE SET owner = excluded.owner',
      ),
      owned: db.prepare('SELECT partition FROM claims WHERE topic = ? AND owner = ?'),
      offset: db.prepare('SELECT next_offset FROM offsets WHERE topic = ? AND partition = ?'),
      offsetSum: db.prepare('SELECT coalesce(sum(next_offset), 0) AS v FROM offsets WHERE topic = ?'),
      setOffset: db.prepare(
        'INSERT INTO offsets (topic, partition, next_offset) VALUES (?, ?, ?) ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset',
      ),
      watermark: db.prepare('SELECT watermark FROM watermarks WHERE pipeline = ? AND partition = ?'),
      setWatermark: db.prepare(
        'INSERT INTO watermarks (pipeline, partition, watermark) VALUES (?, ?, ?) ON CONFLICT (pipeline, partition) DO UPDATE SET watermark = excluded.watermark',
      ),
      ids: db.prepare('SELECT op, id, ts FROM dedupe WHERE pipeline = ? AND partition = ? ORDER BY ts'),
      addId: db.prepare(
        'INSERT OR IGNORE INTO dedupe (pipeline, partition, op, id, ts) VALUES (?, ?, ?, ?, ?)',
      ),
      forgetIds: db.prepare('DELETE FROM dedupe WHERE pipeline = ? AND partition = ? AND op = ? AND ts < ?'),
      sessions: db.prepare('SELECT key, value FROM sessions WHERE pipeline = ? AND partition = ?'),
      setSession: db.prepare(
        'INSERT INTO sessions (pipeline, partition, key, value) VALUES (?, ?, ?, ?) ON CONFLICT (pipeline, partition, key) DO UPDATE SET value = excluded.value',
      ),
      deleteSession: db.prepare('DELETE FROM sessions WHERE pipeline = ? AND partition = ? AND key = ?'),
      total: db.prepare('SELECT value FROM totals WHERE pipeline = ? AND wkey = ?'),
      setTotal: db.prepare(
        'INSERT INTO totals (pipeline, wkey, value, closes) VALUES (?, ?, ?, ?) ON CONFLICT (pipeline, wkey) DO UPDATE SET value = excluded.value',
      ),
      watermarks: db.prepare(
        'SELECT count(watermark) AS n, min(watermark) AS low FROM watermarks WHERE pipeline = ?',
      ),
      dropClosed: db.prepare('DELETE FROM totals WHERE pipeline = ? AND closes <= ?'),
    };
  }

  /**
   * Takes ownership of partitions and returns where to resume each (undefined: never checkpointed).
   * Runs under the mutex, so it waits for any checkpoint in flight, including one by a previous owner.
   */
  claim(partitions: number[]): Promise<Map<number, number | undefined>> {
    return this.state.mutex.run(async () => {
      const out = new Map<number, number | undefined>();
      this.db
        .transaction(() => {
          for (const p of partitions) {
            this.stmts.claim.run(this.topic, p, this.owner);
            const row = this.stmts.offset.get(this.topic, p) as { next_offset: number } | undefined;
            out.set(p, row?.next_offset);
          }
        })
        .immediate();
      return out;
    });
  }

  load(pipeline: Pipeline, partition: number): TaskState {
    const wm = this.stmts.watermark.get(pipeline.name, partition) as { watermark: number | null } | undefined;
    const ids = (
      this.stmts.ids.all(pipeline.name, partition) as Array<{ op: number; id: string; ts: number }>
    ).map((r): [number, string, number] => [r.op, r.id, r.ts]);
    const sessions = (
      this.stmts.sessions.all(pipeline.name, partition) as Array<{ key: string; value: string }>
    ).map((r): [string, string] => [r.key, r.value]);
    return { watermark: wm?.watermark ?? Number.NEGATIVE_INFINITY, ids, sessions };
  }

  /**
   * Commits snapshots and offsets; `write` receives the outputs and must resolve once they are durable.
   * Snapshots and offsets of partitions this instance no longer owns are dropped; resolves with those
   * partitions (fenced: another instance claimed them since).
   */
  commit(
    snapshots: TaskSnapshot[],
    offsets: PartitionCheckpoint[],
    write: (outputs: CheckpointOutput[]) => Promise<void>,
  ): Promise<number[]> {
    return this.state.mutex.run(async () => {
      const db = this.db;
      db.exec('BEGIN IMMEDIATE');
      try {
        const owned = new Set(
          (this.stmts.owned.all(this.topic, this.owner) as Array<{ partition: number }>).map(
            (r) => r.partition,
          ),
        );
        const byPipeline = new Map<Pipeline, TaskSnapshot[]>();
        for (const s of snapshots) {
          if (!owned.has(s.partition)) continue;
          this.writeTaskState(s);
          let list = byPipeline.get(s.pipeline);
          if (list === undefined) {
            list = [];
            byPipeline.set(s.pipeline, list);
          }
          list.push(s);
        }
        const fenced: number[] = [];
        for (const o of offsets) {
          if (owned.has(o.partition)) this.stmts.setOffset.run(this.topic, o.partition, o.offset);
          else fenced.push(o.partition);
        }
        const { v: offsetSum } = this.stmts.offsetSum.get(this.topic) as { v: number };
        const version = this.versionBase + offsetSum;
        const outputs: CheckpointOutput[] = [];
        for (const [pipeline, list] of byPipeline) {
          const items = this.mergeTotals(pipeline, list);
          this.dropClosedTotals(pipeline);
          for (const s of list) for (const item of s.emitted) items.push(item);
          outputs.push({ pipeline, items, snapshots: list, version });
        }
        await write(outputs);
        db.exec('COMMIT');
        return fenced;
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  private writeTaskState(s: TaskSnapshot): void {
    const name = s.pipeline.name;
    const { stmts } = this;
    stmts.setWatermark.run(name, s.partition, Number.isFinite(s.watermark) ? s.watermark : null);
    for (const [op, id, ts] of s.newIds) stmts.addId.run(name, s.partition, op, id, ts);
    for (const [op, before] of s.forgetBefore) {
      if (Number.isFinite(before)) stmts.forgetIds.run(name, s.partition, op, before);
    }
    for (const [key, json] of s.sessions) {
      if (json === null) stmts.deleteSession.run(name, s.partition, key);
      else stmts.setSession.run(name, s.partition, key, json);
    }
  }

  /**
   * Forgets the totals of windows no partition can add to any more. A partition only accepts an event
   * into a window while end + allowed lateness > its watermark, and watermarks never go back, so once the
   * lowest watermark of all partitions has passed that point the total is final. This never changes a
   * result (unlike a time-based retention would), so restarts stay identical to clean runs.
   */
  private dropClosedTotals(pipeline: Pipeline): void {
    const row = this.stmts.watermarks.get(pipeline.name) as { n: number; low: number | null };
    if (row.n < this.partitionCount || row.low === null) return;
    this.stmts.dropClosed.run(pipeline.name, row.low);
  }

  private mergeTotals(pipeline: Pipeline, snapshots: TaskSnapshot[]): unknown[] {
    const stage = pipeline.aggregate;
    if (stage === undefined) return [];
    const { agg } = stage;
    const combined = new Map<string, Delta>();
    for (const s of snapshots) {
      for (const [wkey, delta] of s.deltas) {
        // Fresh accumulators: a failed commit is retried with the same snapshots, which must stay intact.
        let seen = combined.get(wkey);
        if (seen === undefined) {
          seen = { key: delta.key, window: delta.window, acc: agg.create() };
          combined.set(wkey, seen);
        }
        seen.acc = agg.merge(seen.acc, delta.acc);
      }
    }
    const items: unknown[] = [];
    for (const [wkey, delta] of combined) {
      const row = this.stmts.total.get(pipeline.name, wkey) as { value: string } | undefined;
      const total = row === undefined ? delta.acc : agg.merge(agg.fromJSON(JSON.parse(row.value)), delta.acc);
      const closes = delta.window === null ? null : delta.window.end + stage.allowedLatenessMs;
      this.stmts.setTotal.run(pipeline.name, wkey, JSON.stringify(agg.toJSON(total)), closes);
      const value = agg.result(total);
      items.push(
        delta.window === null ? { key: delta.key, value } : { key: delta.key, window: delta.window, value },
      );
    }
    return items;
  }
}
