import { EmbeddedLog } from '@tracklane/log';
import type { StreamEngine } from '../src/index.ts';
import type { Sink } from '../src/sinks/sink.ts';

export async function openLog(dir: string): Promise<EmbeddedLog> {
  return EmbeddedLog.open(dir, { retentionCheckIntervalMs: 0 });
}

/** A sink that keeps the last item per key, like an upsert into a table. */
export function upsertSink<T>(key: (item: T) => string): Sink<T> & { rows: Map<string, T>; writes: number } {
  const rows = new Map<string, T>();
  const sink = {
    rows,
    writes: 0,
    async write(items: T[]) {
      sink.writes++;
      for (const item of items) rows.set(key(item), item);
    },
  };
  return sink;
}

export function listSink<T>(): Sink<T> & { items: T[] } {
  const items: T[] = [];
  return {
    items,
    async write(batch: T[]) {
      items.push(...batch);
    },
  };
}

/** Waits until the engine has checkpointed everything appended so far. */
export async function drain(engine: StreamEngine, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (engine.stats().partitions.length > 0 && (await engine.lag()) === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`engine did not drain within ${timeoutMs} ms (lag ${await engine.lag()})`);
}
