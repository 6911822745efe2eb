import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { TopicPartition } from '@tracklane/log';
import { type Client, type ConsumerHost, KafkaGroupConsumer } from '../src/kafka-consumer.ts';
import { Names } from '../src/names.ts';
import { decodeOwned, StickySubscription } from '../src/sticky-protocol.ts';

/**
 * A test double of the @platformatic/kafka Consumer, reduced to what the group member reads: the client's
 * current assignment, its events, committed offsets and commits. The real client runs only against a broker
 * (see kafka-conformance.test.ts); here we pin how the member follows assignment changes.
 */
class ClientDouble extends EventEmitter {
  memberId = 'member-1';
  assignments: { topic: string; partitions: number[] }[] | null = null;
  closed = false;
  readonly committedAsked: number[][] = [];
  readonly commits: { topic: string; partition: number; offset: bigint }[][] = [];
  streamsOpened = 0;
  streamsClosed = 0;
  /** While set, committed-offset lookups wait for it: a slow coordinator. */
  gate: Promise<void> | null = null;
  constructor(private readonly committedOffsets: Map<number, bigint>) {
    super();
  }
  topics = { trackAll: (..._topics: string[]) => undefined };
  async joinGroup(): Promise<string> {
    return this.memberId;
  }
  async consume(): Promise<{ close(): Promise<void> }> {
    this.streamsOpened++;
    return { close: async () => void this.streamsClosed++ };
  }
  async listCommittedOffsets(options: { topics: { topic: string; partitions: number[] }[] }) {
    const answer = new Map<string, bigint[]>();
    for (const { topic, partitions } of options.topics) {
      this.committedAsked.push([...partitions]);
      const offsets: bigint[] = [];
      for (const p of partitions) offsets[p] = this.committedOffsets.get(p) ?? -1n;
      answer.set(topic, offsets);
    }
    await this.gate;
    return answer;
  }
  async commit(options: { offsets: { topic: string; partition: number; offset: bigint }[] }) {
    this.commits.push(options.offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
  }
  async leaveGroup() {}
  async close() {
    this.closed = true;
  }
  assign(partitions: number[]): void {
    this.assignments = [{ topic: 'ns.t', partitions }];
  }
}

function host(): ConsumerHost {
  return {
    names: new Names('ns'),
    range: async () => ({ start: 2, end: 10 }),
    assertOpen: () => undefined,
    forget: () => undefined,
  };
}

const flat = (list: TopicPartition[]) => list.map((tp) => `${tp.topic}/${tp.partition}`).sort();

async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function positions(
  client: ClientDouble,
  consumer: KafkaGroupConsumer,
): Promise<Record<string, number>> {
  await consumer.commit();
  const last = client.commits.at(-1) ?? [];
  return Object.fromEntries(last.map((c) => [`${c.topic}/${c.partition}`, Number(c.offset)]));
}

describe('a Kafka group member following its assignment', () => {
  it('keeps the position of a partition it keeps, and starts only new ones at the committed offset', async () => {
    const client = new ClientDouble(
      new Map([
        [0, 5n],
        [2, 4n],
      ]),
    );
    client.assign([0, 1]);
    const subscription = new StickySubscription();
    const consumer = await KafkaGroupConsumer.join(client as unknown as Client, host(), {
      group: 'g',
      topics: ['t'],
      protocol: 'classic',
      subscription,
    });
    assert.deepEqual(flat(consumer.assignment()), ['t/0', 't/1']);
    // t/1 was never committed: it starts at the partition's start (from: earliest).
    assert.deepEqual(await positions(client, consumer), { 'ns.t/0': 5, 'ns.t/1': 2 });
    assert.deepEqual(
      decodeOwned(subscription.protocols[0]!.metadata as Buffer)
        .map((tp) => tp.partition)
        .sort(),
      [0, 1],
    );

    const seen: string[][] = [];
    consumer.onRebalance((assignment) => seen.push(flat(assignment)));
    await eventually(() => seen.length === 1, 'the replay after registering');

    consumer.seek({ topic: 't', partition: 1, offset: 7 });
    client.assign([1, 2]);
    client.emit('consumer:group:join', {});
    await eventually(() => seen.length === 2, 'the rebalance listener');
    assert.deepEqual(seen[1], ['t/1', 't/2']);
    assert.deepEqual(
      await positions(client, consumer),
      { 'ns.t/1': 7, 'ns.t/2': 4 },
      't/1 keeps the sought position; only t/2 is new',
    );
    assert.deepEqual(
      client.committedAsked.at(-1),
      [2],
      'committed offsets looked up for the new partition only',
    );
    assert.deepEqual(
      decodeOwned(subscription.protocols[0]!.metadata as Buffer)
        .map((tp) => tp.partition)
        .sort(),
      [1, 2],
    );

    // The same partitions in another order: not a change, no listener call.
    client.assign([2, 1]);
    client.emit('consumer:group:join', {});
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(seen.length, 2);
    await consumer.close();
    assert.ok(client.closed);
  });

  it('refuses to seek a partition revoked by the last change', async () => {
    const client = new ClientDouble(new Map());
    client.assign([0, 1]);
    const consumer = await KafkaGroupConsumer.join(client as unknown as Client, host(), {
      group: 'g',
      topics: ['t'],
      protocol: 'classic',
      subscription: new StickySubscription(),
    });
    client.assign([1]);
    client.emit('consumer:group:join', {});
    await eventually(() => consumer.assignment().length === 1, 'the revocation');
    assert.throws(() => consumer.seek({ topic: 't', partition: 0, offset: 3 }), { code: 'E_BAD_ARGUMENT' });
    await consumer.close();
  });

  it('with KIP-848, joins through a stream it closes at once, waits for the first assignment, then follows heartbeats', async () => {
    const client = new ClientDouble(new Map([[3, 9n]]));
    // The broker's first assignment arrives a little after the join.
    setTimeout(() => client.assign([0, 1]), 60);
    const consumer = await KafkaGroupConsumer.join(client as unknown as Client, host(), {
      group: 'g',
      topics: ['t'],
      protocol: 'consumer',
    });
    assert.equal(client.streamsOpened, 1);
    assert.equal(client.streamsClosed, 1, 'the joining stream is closed, so nothing fetches behind our back');
    assert.deepEqual(flat(consumer.assignment()), ['t/0', 't/1']);
    const seen: string[][] = [];
    consumer.onRebalance((assignment) => seen.push(flat(assignment)));
    await eventually(() => seen.length === 1, 'the replay');

    consumer.seek({ topic: 't', partition: 1, offset: 6 });
    // One partition revoked by one heartbeat...
    client.assign([1]);
    client.emit('consumer:heartbeat:end');
    await eventually(() => seen.length === 2, 'the revocation');
    // ...another one added by the next: each is one real change, and t/1 is never touched.
    client.assign([1, 3]);
    client.emit('consumer:heartbeat:end');
    await eventually(() => seen.length === 3, 'the addition');
    assert.deepEqual(seen.slice(1), [['t/1'], ['t/1', 't/3']]);
    assert.deepEqual(await positions(client, consumer), { 'ns.t/1': 6, 'ns.t/3': 9 });
    // A heartbeat that changes nothing calls nobody.
    client.emit('consumer:heartbeat:end');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(seen.length, 3);
    await consumer.close();
  });

  it('catches up with a change that arrives while it is still applying the previous one', async () => {
    const client = new ClientDouble(new Map());
    client.assign([0]);
    const consumer = await KafkaGroupConsumer.join(client as unknown as Client, host(), {
      group: 'g',
      topics: ['t'],
      protocol: 'classic',
      subscription: new StickySubscription(),
    });
    const seen: string[][] = [];
    consumer.onRebalance((assignment) => seen.push(flat(assignment)));
    await eventually(() => seen.length === 1, 'the replay');
    let open!: () => void;
    client.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    client.assign([0, 1]);
    client.emit('consumer:group:join', {});
    await eventually(
      () => client.committedAsked.length > 0 && client.committedAsked.at(-1)![0] === 1,
      'the lookup',
    );
    // While t/1's committed offset is being looked up, the group moves on: t/0 is revoked.
    client.assign([1]);
    client.emit('consumer:group:join', {});
    client.gate = null;
    open();
    await eventually(() => flat(consumer.assignment()).join() === 't/1', 'the second change');
    assert.deepEqual(seen.at(-1), ['t/1']);
    await consumer.close();
  });
});
