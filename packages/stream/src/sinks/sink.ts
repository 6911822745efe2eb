/**
 * Where a pipeline's output goes. The engine calls `write` inside the checkpoint, before it commits the
 * consumed offsets, so after a crash the same items are written again: sinks must be idempotent (an
 * upsert by primary key and version, for instance) for results to be exactly-once as seen from outside.
 */
export interface Sink<T> {
  /** Called once before the first write (create tables, topics). */
  open?(): Promise<void>;
  write(items: T[], context: SinkContext): Promise<void>;
  /**
   * Also deliver in-progress results of session windows (`open: true`, see `OpenWindowResult`) at every
   * checkpoint that changes them, not only each session's final result. The items of one key then hold
   * all of that key's open sessions, so a sink can retract the ones no longer among them (merged away).
   */
  readonly openSessions?: boolean;
}

export interface SinkContext {
  /**
   * Orders the writes of one result: the sum of the next offsets of every partition of the source topic
   * as committed by this checkpoint. Offsets only grow, so a later checkpoint never has a lower version,
   * and a write retried after a crash carries the version of the input it was computed from: a re-delivered
   * older result can be told from a newer one (`TableDefinition.version`). A replay into a fresh table
   * starts again from its own offsets.
   */
  version: number;
}
