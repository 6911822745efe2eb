import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { LogRecord } from '@tracklane/log';
import { waitFor } from '@tracklane/test-utils';
import { NatsLog } from '../src/index.ts';
import { Names } from '../src/names.ts';
import { PartitionFeed } from '../src/partition-feed.ts';
import { type NatsNode, natsServerMissing, startNatsServer } from './nats-server.ts';

const recordsOf = (values: string[]): LogRecord[] =>
  values.map((v, offset) => ({
    topic: 't',
    partition: 0,
    offset,
    key: null,
    value: Buffer.from(v),
    headers: {},
    timestamp: 0,
  }));

/**
 * A feed of partition 0 of `records`, from offset `from`, on a cluster whose meta leader is being elected:
 * every consumer create times out (a test double; the node-loss test runs the real thing), and the stream's
 * leader still answers gets by sequence. `onCreate` sees each consumer the feed tries to create.
 */
function sequenceOnlyFeed(records: LogRecord[], from: number, onCreate = () => {}): PartitionFeed {
  const js = {
    consumers: {
      get: async () => {
        onCreate();
        throw Object.assign(new Error('timeout'), { name: 'TimeoutError' });
      },
    },
  } as unknown as JetStreamClient;
  return new PartitionFeed(
    js,
    'tl_t_0',
    't',
    0,
    from,
    () => undefined,
    async () => records.length,
    async (start, count) => records.slice(start, start + count),
  );
}

describe('PartitionFeed without a consumer', () => {
  it('reads the partition by sequence, from its cursor on, while no consumer can be created', async () => {
    let creates = 0;
    const feed = sequenceOnlyFeed(recordsOf(['0', '1', '2', '3', '4', '5']), 2, () => creates++);
    try {
      await waitFor(() => feed.available === 4, { timeoutMs: 5_000, what: 'offsets 2..5 by sequence' });
      const out: LogRecord[] = [];
      feed.take(out, 100, 1 << 20);
      assert.deepEqual(
        out.map((r) => r.offset),
        [2, 3, 4, 5],
      );
      assert.ok(creates >= 1, 'a consumer was tried first');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(feed.available, 0, 'nothing is read twice while consumers keep failing');
    } finally {
      feed.stop();
    }
  });
});

describe('PartitionFeed.take', () => {
  it('hands out its records within the record and byte limits, all at once when they fit', async () => {
    const feed = sequenceOnlyFeed(recordsOf(['a', 'bb', 'ccc', 'dddd', 'eeeee']), 0);
    try {
      await waitFor(() => feed.available === 5, { timeoutMs: 5_000, what: 'offsets 0..4 by sequence' });
      const out: LogRecord[] = [];
      assert.equal(feed.take(out, 2, 1 << 20), 3, 'two records, 1 + 2 bytes');
      assert.equal(feed.take(out, 100, 4), 3, 'stops once the bytes reach the limit');
      assert.equal(feed.take(out, 100, 1), 4, 'at least one record, whatever its size');
      assert.deepEqual(
        out.map((r) => r.value.toString()),
        ['a', 'bb', 'ccc', 'dddd'],
      );
      assert.equal(feed.take(out, 100, 1 << 20), 5, 'the rest at once');
      assert.equal(feed.take(out, 100, 1 << 20), 0);
      assert.deepEqual(
        out.map((r) => r.offset),
        [0, 1, 2, 3, 4],
      );
    } finally {
      feed.stop();
    }
  });
});

describe('PartitionFeed on a nats-server', { skip: natsServerMissing() }, () => {
  let server: NatsNode & { servers: string[] };
  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('stops pulling while its buffer is full, and wakes its reader once per burst', async () => {
    const log = await NatsLog.open({
      servers: server.servers,
      namespace: 'feed',
      retentionCheckIntervalMs: 0,
    });
    const nc = await connect({ servers: server.servers });
    let wakes = 0;
    let feed: PartitionFeed | undefined;
    try {
      await log.ensureTopic('t', { partitions: 1 });
      const total = 5_000;
      for (let i = 0; i < total; i += 500) {
        await log.append(
          't',
          Array.from({ length: 500 }, (_, j) => ({
            value: Buffer.from(String(i + j)),
            headers: { n: `${i + j}` },
          })),
        );
      }
      const stream = new Names('feed').stream('t', 0);
      feed = new PartitionFeed(
        jetstream(nc),
        stream,
        't',
        0,
        0,
        () => wakes++,
        async () => total,
        async () => [],
      );
      const f = feed;
      await waitFor(() => f.available > 0, { what: 'the first records' });
      // Nobody takes: the feed fills up to its high-water mark (1,024) plus what its last pull brought, and
      // then stops iterating, so that no further pull is sent.
      await new Promise((r) => setTimeout(r, 500));
      const parked = f.available;
      assert.ok(parked >= 1024 && parked < 1024 + 256, `holds ${parked} records while nobody takes`);
      assert.ok(wakes < 100, `${parked} records woke the reader ${wakes} times`);
      // The server's side of it: the consumer delivered at most one pull (256) past what the feed holds.
      const consumers = await (await jetstreamManager(nc)).consumers.list(stream).next();
      assert.equal(consumers.length, 1);
      const delivered = consumers[0]!.delivered.stream_seq;
      assert.ok(
        delivered <= parked + 256,
        `the server delivered ${delivered} records to a feed holding ${parked}`,
      );
      const out: LogRecord[] = [];
      await waitFor(
        () => {
          f.take(out, 10_000, 1 << 30);
          return out.length === total;
        },
        { timeoutMs: 10_000, what: 'every record once taking resumed' },
      );
      assert.deepEqual(
        out.map((r) => r.offset),
        Array.from({ length: total }, (_, i) => i),
      );
      assert.equal(out[4_321]!.headers.n, '4321');
    } finally {
      feed?.stop();
      await nc.close();
      await log.close();
    }
  });
});
