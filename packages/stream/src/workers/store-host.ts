import type { MessagePort } from 'node:worker_threads';
import type { TableDefinition } from '@tracklane/storage';
import type { SinkStore } from '../sinks/sink-store.ts';
import { RpcPeer } from './rpc.ts';

/**
 * One queue for every worker's store writes, in the order they arrived. A worker holds the state
 * database's write lock while its sink write is in flight, so writes arrive in checkpoint order; applying
 * them in that order keeps it even when a worker dies with a write still queued here: the stale write
 * lands before the write of the worker that took the partition over, never after it.
 */
export class StoreQueue {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly store: SinkStore) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** Serves the sink methods of a store over a MessagePort to one worker. */
export function serveStore(port: MessagePort, queue: StoreQueue): RpcPeer {
  const { store } = queue;
  return new RpcPeer(port, {
    defineTable: (table: TableDefinition) => queue.run(() => store.defineTable(table)),
    upsert: (...args: Parameters<SinkStore['upsert']>) => queue.run(() => store.upsert(...args)),
  });
}
