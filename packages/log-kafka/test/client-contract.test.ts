import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Consumer, MessagesStream } from '@platformatic/kafka';
import { StickySubscription, stickyPartitionAssigner } from '../src/sticky-protocol.ts';

/**
 * What the group member relies on in @platformatic/kafka's own code, checked against the real client
 * without a broker (nothing listens on port 1; nothing here may need to connect).
 */
describe('the Kafka client, as the group member uses it', () => {
  const base = { clientId: 'contract', bootstrapBrokers: ['127.0.0.1:1'], groupId: 'g', retries: 0 };

  it('accepts the classic options: both protocols with owned-partition user data, and the sticky assigner', async () => {
    const subscription = new StickySubscription();
    subscription.update([{ topic: 'ns.t', partition: 0 }]);
    const client = new Consumer<Buffer, Buffer, Buffer, Buffer>({
      ...base,
      sessionTimeout: 6000,
      heartbeatInterval: 2000,
      protocols: subscription.protocols,
      partitionAssigner: stickyPartitionAssigner,
    });
    await client.close();
    // The client does validate these options: a malformed protocol is refused.
    assert.throws(
      () =>
        new Consumer({ ...base, protocols: [{ name: 'x', version: 1, metadata: 42 as unknown as Buffer }] }),
      /metadata/,
    );
  });

  it('opens and closes a KIP-848 message stream on no topics without any broker traffic, keeping the subscription', async () => {
    const client = new Consumer<Buffer, Buffer, Buffer, Buffer>({ ...base, groupProtocol: 'consumer' });
    client.topics.trackAll('ns.t');
    const events: string[] = [];
    const emit = client.emit.bind(client);
    client.emit = ((name: string, ...args: unknown[]) => {
      events.push(name);
      return emit(name, ...args);
    }) as typeof client.emit;
    // The options consume() fills in before it builds the stream (consumer.js #performConsume).
    const stream = new MessagesStream(client, {
      topics: [],
      autocommit: false,
      maxBytes: 1 << 20,
      maxBytesPerPartition: 1 << 20,
      highWaterMark: 1024,
      deserializers: {},
    } as ConstructorParameters<typeof MessagesStream<Buffer, Buffer, Buffer, Buffer>>[1]);
    await new Promise((r) => setTimeout(r, 50));
    await stream.close();
    assert.ok(stream.destroyed);
    assert.deepEqual(events, [], 'no metadata, connection or fetch for a stream on no topics');
    assert.deepEqual(client.topics.current, ['ns.t'], 'the group subscription is untouched');
    await client.close();
  });
});
