import type { MessagePort } from 'node:worker_threads';
import { TracklaneError } from '@tracklane/core';
import {
  type AppendAck,
  assertConsumerOffset,
  type Consumer,
  type ConsumerOptions,
  type Log,
  type LogRecord,
  type PartitionOffsets,
  type PollOptions,
  type ReadOptions,
  type RebalanceListener,
  type RecordInput,
  type TopicConfig,
  type TopicDescription,
  type TopicPartition,
  type TopicPartitionOffset,
} from '@tracklane/log';
import type { ConsumerHandle, RebalanceEvent, SeekEvent } from './log-host.ts';
import { type PackedRecords, packInputs, transferList, unpackRecords } from './record-pack.ts';
import { RpcPeer } from './rpc.ts';

/**
 * The `Log` a worker thread sees: every call goes over a MessagePort to the log the main thread owns
 * (`serveLog`). The embedded log can only be opened by one process, and once per process, so workers
 * cannot open it themselves. Records travel packed into transferred buffers (see record-pack.ts).
 */
export class LogProxy implements Log {
  private readonly peer: RpcPeer;
  private readonly consumers = new Map<number, ProxyConsumer>();

  /** `onClose` runs after the channel closed (a test fixture closes the log it serves there). */
  constructor(
    port: MessagePort,
    private readonly onClose?: () => Promise<void>,
  ) {
    this.peer = new RpcPeer(port, {}, (name, payload) => {
      if (name === 'rebalance') {
        const event = payload as RebalanceEvent;
        this.consumers.get(event.id)?.rebalanced(event.assignment);
      }
    });
  }

  ensureTopic(name: string, config: TopicConfig): Promise<TopicDescription> {
    return this.peer.call('ensureTopic', [name, config]);
  }

  describeTopic(name: string): Promise<TopicDescription> {
    return this.peer.call('describeTopic', [name]);
  }

  listTopics(): Promise<string[]> {
    return this.peer.call('listTopics', []);
  }

  append(topic: string, records: RecordInput[], options?: { partition?: number }): Promise<AppendAck[]> {
    const packed = packInputs(records);
    return this.peer.call('append', [topic, packed, options], transferList(packed));
  }

  async read(topic: string, partition: number, offset: number, options?: ReadOptions): Promise<LogRecord[]> {
    return unpackRecords(await this.peer.call<PackedRecords>('read', [topic, partition, offset, options]));
  }

  offsets(topic: string): Promise<PartitionOffsets[]> {
    return this.peer.call('offsets', [topic]);
  }

  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    return this.peer.call('offsetForTimestamp', [topic, partition, timestamp]);
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    const handle = await this.peer.call<ConsumerHandle>('consumer', [options]);
    const consumer = new ProxyConsumer(this.peer, handle, () => this.consumers.delete(handle.id));
    this.consumers.set(handle.id, consumer);
    return consumer;
  }

  committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    return this.peer.call('committedOffsets', [group, topic]);
  }

  enforceRetention(): Promise<void> {
    return this.peer.call('enforceRetention', []);
  }

  /** Closes this proxy's consumers (they leave their groups) and the channel; the log itself stays open. */
  async close(): Promise<void> {
    if (this.peer.closed) return;
    await this.peer.call('close', []).catch(() => undefined);
    this.peer.close(new TracklaneError('E_LOG_CLOSED', 'this log proxy is closed; open a new one'));
    await this.onClose?.();
  }
}

class ProxyConsumer implements Consumer {
  readonly group: string;
  readonly memberId: string;
  private owned: TopicPartition[];
  private readonly listeners: RebalanceListener[] = [];
  private closed = false;
  /** Commits in flight: the engine does not await its informational commit, so `close` does. */
  private readonly commits = new Set<Promise<void>>();

  constructor(
    private readonly peer: RpcPeer,
    private readonly handle: ConsumerHandle,
    private readonly forget: () => void,
  ) {
    this.group = handle.group;
    this.memberId = handle.memberId;
    this.owned = handle.assignment;
  }

  /** The assignment as of the newest rebalance event from the main thread. */
  assignment(): TopicPartition[] {
    return this.owned.map((tp) => ({ ...tp }));
  }

  rebalanced(assignment: TopicPartition[]): void {
    this.owned = assignment;
    for (const listener of this.listeners) {
      try {
        listener(this.assignment());
      } catch (err) {
        process.emitWarning(`onRebalance listener of ${this.memberId} threw: ${(err as Error).message}`);
      }
    }
  }

  async poll(options?: PollOptions): Promise<LogRecord[]> {
    this.assertOpen();
    return unpackRecords(await this.peer.call<PackedRecords>('poll', [this.handle.id, options]));
  }

  commit(offsets?: TopicPartitionOffset[]): Promise<void> {
    this.assertOpen();
    const done = this.peer.call<void>('commit', [this.handle.id, offsets]);
    this.commits.add(done);
    const forget = () => this.commits.delete(done);
    done.then(forget, forget);
    return done;
  }

  /**
   * Checked here against the last assignment the main thread reported, then sent one-way: messages on a
   * port arrive in order, so the seek takes effect before this consumer's next poll.
   */
  seek(target: TopicPartitionOffset): void {
    this.assertOpen();
    assertConsumerOffset('seek', target.offset);
    if (!this.owned.some((tp) => tp.topic === target.topic && tp.partition === target.partition)) {
      throw new TracklaneError(
        'E_BAD_ARGUMENT',
        `${this.memberId} does not own ${target.topic}/${target.partition}; seek only owned partitions`,
      );
    }
    this.peer.notify('seek', { id: this.handle.id, target } satisfies SeekEvent);
  }

  onRebalance(listener: RebalanceListener): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.commits]);
    this.forget();
    if (!this.peer.closed) await this.peer.call('closeConsumer', [this.handle.id]);
  }

  private assertOpen(): void {
    if (this.closed) throw new TracklaneError('E_LOG_CLOSED', `consumer ${this.memberId} is closed`);
    if (this.peer.closed) throw new TracklaneError('E_LOG_CLOSED', 'the log proxy is closed; open a new one');
  }
}
