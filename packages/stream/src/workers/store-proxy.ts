import type { MessagePort } from 'node:worker_threads';
import type { TableDefinition } from '@tracklane/storage';
import type { SinkStore } from '../sinks/sink-store.ts';
import { RpcPeer } from './rpc.ts';

/**
 * The store a worker's sinks write to: `defineTable` and `upsert` forwarded to the main thread's store.
 * DuckDB allows one writing process, and a connection belongs to its thread, so writes go where the store
 * is open; rows are structured-cloned, which keeps dates, bigints and nested values as they are.
 */
export class StoreProxy implements SinkStore {
  private readonly peer: RpcPeer;

  constructor(port: MessagePort) {
    this.peer = new RpcPeer(port);
  }

  defineTable(table: TableDefinition): Promise<void> {
    return this.peer.call('defineTable', [table]);
  }

  upsert(...args: Parameters<SinkStore['upsert']>): Promise<void> {
    return this.peer.call('upsert', args);
  }

  close(): void {
    this.peer.close();
  }
}
