import type { MessagePort } from 'node:worker_threads';
import { TracklaneError } from '@tracklane/core';
import type {
  Consumer,
  ConsumerOptions,
  Log,
  PollOptions,
  ReadOptions,
  TopicConfig,
  TopicPartitionOffset,
} from '@tracklane/log';
import { type PackedRecords, packRecords, transferList, unpackInputs } from './record-pack.ts';
import { RpcPeer, Transfer } from './rpc.ts';

/** What the host answers when a worker opens a consumer. */
export interface ConsumerHandle {
  id: number;
  group: string;
  memberId: string;
  assignment: ReturnType<Consumer['assignment']>;
}

export interface RebalanceEvent {
  id: number;
  assignment: ReturnType<Consumer['assignment']>;
}

export interface SeekEvent {
  id: number;
  target: TopicPartitionOffset;
}

/**
 * Serves a Log over a MessagePort to one worker (see `LogProxy` for the other end). The worker's consumers
 * are real consumers of this log, members of their group like any other, so the group's assignment is what
 * spreads partitions over workers. When the worker closes its proxy, or its thread dies and the port closes
 * with it, its consumers leave the group and the other members take their partitions over. Closing the
 * proxy never closes the log itself: the main thread owns it.
 */
export function serveLog(port: MessagePort, log: Log): RpcPeer {
  const consumers = new Map<number, Consumer>();
  let nextId = 1;
  const consumer = (id: number): Consumer => {
    const c = consumers.get(id);
    if (c === undefined) throw new TracklaneError('E_LOG_CLOSED', `consumer ${id} is closed; open a new one`);
    return c;
  };
  const closeAll = async () => {
    const open = [...consumers.values()];
    consumers.clear();
    await Promise.all(open.map((c) => c.close().catch(() => undefined)));
  };
  const peer: RpcPeer = new RpcPeer(
    port,
    {
      ensureTopic: (name: string, config: TopicConfig) => log.ensureTopic(name, config),
      describeTopic: (name: string) => log.describeTopic(name),
      listTopics: () => log.listTopics(),
      append: (topic: string, packed: PackedRecords, options?: { partition?: number }) =>
        log.append(topic, unpackInputs(packed), options),
      read: async (topic: string, partition: number, offset: number, options?: ReadOptions) => {
        const packed = packRecords(await log.read(topic, partition, offset, options));
        return new Transfer(packed, transferList(packed));
      },
      offsets: (topic: string) => log.offsets(topic),
      offsetForTimestamp: (topic: string, partition: number, timestamp: number) =>
        log.offsetForTimestamp(topic, partition, timestamp),
      committedOffsets: (group: string, topic: string) => log.committedOffsets(group, topic),
      enforceRetention: () => log.enforceRetention(),
      consumer: async (options: ConsumerOptions): Promise<ConsumerHandle> => {
        const c = await log.consumer(options);
        const id = nextId++;
        consumers.set(id, c);
        c.onRebalance((assignment) => {
          if (consumers.has(id)) peer.notify('rebalance', { id, assignment } satisfies RebalanceEvent);
        });
        if (peer.closed) {
          // The worker went away while the consumer was joining: leave at once so nobody waits for it.
          consumers.delete(id);
          await c.close();
        }
        return { id, group: c.group, memberId: c.memberId, assignment: c.assignment() };
      },
      poll: async (id: number, options?: PollOptions) => {
        const packed = packRecords(await consumer(id).poll(options));
        return new Transfer(packed, transferList(packed));
      },
      commit: (id: number, offsets?: TopicPartitionOffset[]) => consumer(id).commit(offsets),
      closeConsumer: async (id: number) => {
        const c = consumers.get(id);
        consumers.delete(id);
        await c?.close();
      },
      close: closeAll,
    },
    (name, payload) => {
      if (name !== 'seek') return;
      const { id, target } = payload as SeekEvent;
      try {
        consumers.get(id)?.seek(target);
      } catch {
        // The partition was revoked after the worker decided to seek it; the rebalance event on its way to
        // the worker makes it drop the partition, so there is nothing to position.
      }
    },
  );
  peer.onClose(() => void closeAll());
  return peer;
}
