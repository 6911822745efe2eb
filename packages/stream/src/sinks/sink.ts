/**
 * Where a pipeline's output goes. The engine calls `write` inside the checkpoint, before it commits the
 * consumed offsets, so after a crash the same items are written again: sinks must be idempotent (an
 * upsert by primary key, for instance) for results to be exactly-once as seen from outside.
 */
export interface Sink<T> {
  /** Called once before the first write (create tables, topics). */
  open?(): Promise<void>;
  write(items: T[]): Promise<void>;
}
