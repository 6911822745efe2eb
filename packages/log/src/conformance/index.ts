import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Consumer, Log, LogRecord, RecordInput, TopicPartition } from '../log.ts';
import { partitionForKey } from '../partitioner.ts';

/**
 * The behaviour every Log implementation must show, tested only through the interface so that the embedded
 * log, NATS JetStream and Kafka adapters run it unchanged.
 */
export interface LogFixture {
  /** Opens the log; may be called again after `close()` to reopen the same storage (a restart). */
  open(): Promise<Log>;
  /** Removes the storage; called once after the log is closed. */
  cleanup(): Promise<void>;
}

const text = (s: string) => Buffer.from(s, 'utf8');

async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function readAll(log: Log, topic: string, partition: number, from = 0): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  let offset = from;
  for (;;) {
    const batch = await log.read(topic, partition, offset, { maxRecords: 1000 });
    if (batch.length === 0) return out;
    out.push(...batch);
    offset = batch[batch.length - 1]!.offset + 1;
  }
}

/** Polls until `count` records arrived (or the deadline passed); returns all of them. */
async function pollN(consumer: Consumer, count: number, timeoutMs = 10_000): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count && Date.now() < deadline) {
    out.push(...(await consumer.poll({ timeoutMs: 200 })));
  }
  return out;
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.equal((err as { code?: string }).code, code);
    return true;
  });
}

const sortTp = (tps: TopicPartition[]) =>
  tps.map((tp) => `${tp.topic}/${tp.partition}`).sort((a, b) => a.localeCompare(b));

export function runLogConformance(name: string, factory: () => Promise<LogFixture>): void {
  describe(`Log conformance: ${name}`, { timeout: 60_000 }, () => {
    let fixture: LogFixture;
    let log: Log;

    beforeEach(async () => {
      fixture = await factory();
      log = await fixture.open();
    });

    afterEach(async () => {
      await log.close().catch(() => undefined);
      await fixture.cleanup();
    });

    async function restart(): Promise<void> {
      await log.close();
      log = await fixture.open();
    }

    describe('topics', () => {
      it('creates topics idempotently and keeps the partition count of an existing topic', async () => {
        const created = await log.ensureTopic('events', { partitions: 3 });
        assert.equal(created.name, 'events');
        assert.equal(created.config.partitions, 3);
        const again = await log.ensureTopic('events', { partitions: 5 });
        assert.equal(again.config.partitions, 3);
        assert.equal((await log.describeTopic('events')).config.partitions, 3);
        assert.ok((await log.listTopics()).includes('events'));
        assert.deepEqual(
          (await log.offsets('events')).map((o) => [o.partition, o.start, o.end]),
          [
            [0, 0, 0],
            [1, 0, 0],
            [2, 0, 0],
          ],
        );
      });

      it('rejects operations on an unknown topic with E_TOPIC_NOT_FOUND', async () => {
        await rejectsWithCode(log.append('missing', [{ value: text('x') }]), 'E_TOPIC_NOT_FOUND');
        await rejectsWithCode(log.read('missing', 0, 0), 'E_TOPIC_NOT_FOUND');
        await rejectsWithCode(log.offsets('missing'), 'E_TOPIC_NOT_FOUND');
        await rejectsWithCode(log.describeTopic('missing'), 'E_TOPIC_NOT_FOUND');
      });
    });

    describe('append and read', () => {
      it('assigns offsets contiguously from 0 and keeps order within a partition', async () => {
        await log.ensureTopic('t', { partitions: 1 });
        const acks: number[] = [];
        for (let call = 0; call < 5; call++) {
          const records = Array.from({ length: 7 }, (_, i) => ({ value: text(`${call}-${i}`) }));
          for (const ack of await log.append('t', records)) acks.push(ack.offset);
        }
        assert.deepEqual(
          acks,
          Array.from({ length: 35 }, (_, i) => i),
        );
        const records = await readAll(log, 't', 0);
        assert.deepEqual(
          records.map((r) => r.offset),
          acks,
        );
        assert.deepEqual(
          records.map((r) => r.value.toString()),
          Array.from({ length: 35 }, (_, i) => `${Math.floor(i / 7)}-${i % 7}`),
        );
        assert.deepEqual(await log.offsets('t'), [{ partition: 0, start: 0, end: 35 }]);
      });

      it('resolves an empty append to no acks', async () => {
        await log.ensureTopic('t', { partitions: 2 });
        assert.deepEqual(await log.append('t', []), []);
        assert.deepEqual(
          (await log.offsets('t')).map((o) => o.end),
          [0, 0],
        );
      });

      it('acks in input order and places keys by the Kafka-compatible hash, stably', async () => {
        await log.ensureTopic('t', { partitions: 4 });
        const records = Array.from({ length: 60 }, (_, i) => ({
          key: `user-${i % 12}`,
          value: text(String(i)),
        }));
        const acks = await log.append('t', records);
        assert.equal(acks.length, records.length);
        const lastOffset = new Map<number, number>();
        for (let i = 0; i < records.length; i++) {
          const ack = acks[i]!;
          assert.equal(ack.partition, partitionForKey(records[i]!.key, 4), `record ${i} partition`);
          const prev = lastOffset.get(ack.partition) ?? -1;
          assert.ok(ack.offset > prev, `offsets grow in input order within partition ${ack.partition}`);
          lastOffset.set(ack.partition, ack.offset);
          const [stored] = await log.read('t', ack.partition, ack.offset, { maxRecords: 1 });
          assert.equal(stored?.value.toString(), String(i));
        }
        const later = await log.append('t', [{ key: 'user-3', value: text('again') }]);
        assert.equal(later[0]!.partition, acks[3]!.partition);
      });

      it('spreads keyless records over partitions and honours an explicit partition', async () => {
        await log.ensureTopic('t', { partitions: 3 });
        // One record per append, so implementations that stick a keyless batch to one partition pass too.
        const used = new Set<number>();
        for (let i = 0; i < 30; i++) {
          const [ack] = await log.append('t', [{ value: text(String(i)) }]);
          used.add(ack!.partition);
        }
        assert.ok(used.size > 1, 'keyless records use several partitions');
        const pinned = await log.append('t', [{ key: 'k', value: text('a') }, { value: text('b') }], {
          partition: 2,
        });
        assert.deepEqual(
          pinned.map((a) => a.partition),
          [2, 2],
        );
        assert.equal(pinned[1]!.offset, pinned[0]!.offset + 1);
      });

      it('round-trips keys, headers, timestamps and binary values', async () => {
        await log.ensureTopic('t', { partitions: 1 });
        const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const before = Date.now();
        await log.append('t', [
          {
            key: 'héllo ✓',
            value: binary,
            headers: { 'content-type': 'application/x', emoji: '🚀' },
            timestamp: 1234,
          },
          { key: new Uint8Array([0, 255, 7]), value: new Uint8Array(0) },
          { key: null, value: text('no key'), headers: {} },
        ]);
        const after = Date.now();
        const [a, b, c] = await readAll(log, 't', 0);
        assert.ok(a && b && c);
        assert.equal(a.topic, 't');
        assert.equal(a.partition, 0);
        assert.deepEqual(a.key, Buffer.from('héllo ✓', 'utf8'));
        assert.deepEqual(Buffer.from(a.value), binary);
        assert.deepEqual(a.headers, { 'content-type': 'application/x', emoji: '🚀' });
        assert.equal(a.timestamp, 1234);
        assert.deepEqual(b.key, Buffer.from([0, 255, 7]));
        assert.equal(b.value.length, 0);
        assert.deepEqual(b.headers, {});
        assert.ok(b.timestamp >= before && b.timestamp <= after, 'timestamp defaults to append time');
        assert.equal(c.key, null);
        assert.equal(c.value.toString(), 'no key');
      });

      it('reads from an offset, bounded by maxRecords and maxBytes', async () => {
        await log.ensureTopic('t', { partitions: 1 });
        await log.append(
          't',
          Array.from({ length: 50 }, (_, i) => ({ value: Buffer.alloc(100, i) })),
        );
        const from10 = await log.read('t', 0, 10, { maxRecords: 5 });
        assert.deepEqual(
          from10.map((r) => r.offset),
          [10, 11, 12, 13, 14],
        );
        assert.deepEqual(from10[0]!.value, Buffer.alloc(100, 10));
        const limited = await log.read('t', 0, 0, { maxBytes: 450 });
        assert.ok(limited.length >= 1 && limited.length < 50, `maxBytes bounds the read (${limited.length})`);
        assert.equal(limited[0]!.offset, 0);
        const one = await log.read('t', 0, 0, { maxBytes: 1 });
        assert.equal(one.length, 1, 'a record larger than maxBytes is still returned alone');
        assert.deepEqual(await log.read('t', 0, 50), []);
        assert.deepEqual(await log.read('t', 0, 500), []);
      });

      it('finds the first offset at or after a timestamp', async () => {
        await log.ensureTopic('t', { partitions: 1 });
        const base = 1_700_000_000_000;
        for (let i = 0; i < 20; i++) {
          await log.append('t', [{ value: text(String(i)), timestamp: base + i * 1000 }]);
        }
        assert.equal(await log.offsetForTimestamp('t', 0, 0), 0);
        assert.equal(await log.offsetForTimestamp('t', 0, base), 0);
        assert.equal(await log.offsetForTimestamp('t', 0, base + 5500), 6);
        assert.equal(await log.offsetForTimestamp('t', 0, base + 19_000), 19);
        assert.equal(await log.offsetForTimestamp('t', 0, base + 60_000), 20);
      });

      it('loses no record and keeps per-key order with many concurrent appenders', async () => {
        await log.ensureTopic('t', { partitions: 4 });
        const appenders = 8;
        const batches = 50;
        const perBatch = 5;
        const acked = new Map<string, string>();
        await Promise.all(
          Array.from({ length: appenders }, async (_, a) => {
            for (let b = 0; b < batches; b++) {
              const records: RecordInput[] = Array.from({ length: perBatch }, (_, i) => ({
                key: `a${a}-k${i % 3}`,
                value: text(`${a}:${b}:${i}`),
              }));
              const acks = await log.append('t', records);
              for (let i = 0; i < acks.length; i++) {
                const where = `${acks[i]!.partition}/${acks[i]!.offset}`;
                assert.ok(!acked.has(where), `duplicate ack ${where}`);
                acked.set(where, `${a}:${b}:${i}`);
              }
            }
          }),
        );
        assert.equal(acked.size, appenders * batches * perBatch);
        const seq = new Map<string, number>();
        let total = 0;
        for (let p = 0; p < 4; p++) {
          const records = await readAll(log, 't', p);
          assert.deepEqual(
            records.map((r) => r.offset),
            records.map((_, i) => i),
            'offsets contiguous from 0',
          );
          for (const r of records) {
            total++;
            assert.equal(acked.get(`${p}/${r.offset}`), r.value.toString());
            const [, b, i] = r.value.toString().split(':').map(Number) as [number, number, number];
            const key = r.key!.toString();
            const order = b * perBatch + i;
            assert.ok((seq.get(key) ?? -1) < order, `records of key ${key} stay in append order`);
            seq.set(key, order);
          }
        }
        assert.equal(total, appenders * batches * perBatch);
      });

      it('keeps every record and offset across a restart', async () => {
        await log.ensureTopic('t', { partitions: 2 });
        const acks = await log.append(
          't',
          Array.from({ length: 40 }, (_, i) => ({
            key: `k${i % 5}`,
            value: text(`v${i}`),
            headers: { i: String(i) },
          })),
        );
        await restart();
        assert.equal((await log.describeTopic('t')).config.partitions, 2);
        for (let i = 0; i < acks.length; i++) {
          const [r] = await log.read('t', acks[i]!.partition, acks[i]!.offset, { maxRecords: 1 });
          assert.equal(r?.value.toString(), `v${i}`);
          assert.equal(r?.headers.i, String(i));
        }
        const next = await log.append('t', [{ key: 'k0', value: text('after restart') }]);
        const before = acks.filter((a) => a.partition === next[0]!.partition).length;
        assert.equal(next[0]!.offset, before, 'offsets continue where they stopped');
      });

      it('rejects calls after close with E_LOG_CLOSED', async () => {
        await log.ensureTopic('t', { partitions: 1 });
        await log.close();
        await rejectsWithCode(log.append('t', [{ value: text('x') }]), 'E_LOG_CLOSED');
        await rejectsWithCode(log.read('t', 0, 0), 'E_LOG_CLOSED');
      });
    });

    describe('consumer groups', () => {
      it('splits partitions between two members and rebalances to the survivor when one closes', async () => {
        await log.ensureTopic('t', { partitions: 4 });
        const c1 = await log.consumer({ group: 'g', topics: ['t'] });
        const seen1: TopicPartition[][] = [];
        c1.onRebalance((assignment) => seen1.push(assignment));
        const c2 = await log.consumer({ group: 'g', topics: ['t'] });
        await eventually(async () => {
          await Promise.all([c1.poll({ timeoutMs: 10 }), c2.poll({ timeoutMs: 10 })]);
          return c1.assignment().length > 0 && c2.assignment().length > 0;
        }, 'both members to own partitions');
        const a1 = sortTp(c1.assignment());
        const a2 = sortTp(c2.assignment());
        assert.equal(a1.length + a2.length, 4);
        assert.deepEqual([...a1, ...a2].sort(), ['t/0', 't/1', 't/2', 't/3']);

        const records = Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: text(String(i)) }));
        await log.append('t', records);
        const got1: LogRecord[] = [];
        const got2: LogRecord[] = [];
        const deadline = Date.now() + 10_000;
        while (got1.length + got2.length < 40 && Date.now() < deadline) {
          const [r1, r2] = await Promise.all([c1.poll({ timeoutMs: 100 }), c2.poll({ timeoutMs: 100 })]);
          got1.push(...r1);
          got2.push(...r2);
        }
        for (const r of got1)
          assert.ok(a1.includes(`t/${r.partition}`), 'member 1 reads only its partitions');
        for (const r of got2)
          assert.ok(a2.includes(`t/${r.partition}`), 'member 2 reads only its partitions');
        assert.deepEqual(
          [...got1, ...got2].map((r) => Number(r.value.toString())).sort((a, b) => a - b),
          Array.from({ length: 40 }, (_, i) => i),
        );

        await c2.close();
        await eventually(async () => {
          await c1.poll({ timeoutMs: 10 });
          return c1.assignment().length === 4;
        }, 'the survivor to own every partition');
        await eventually(
          async () => seen1.length > 0 && seen1[seen1.length - 1]!.length === 4,
          'onRebalance',
        );
        await c1.close();
      });

      it('resumes from committed offsets after a restart', async () => {
        await log.ensureTopic('t', { partitions: 2 });
        await log.append(
          't',
          Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: text(`old${i}`) })),
        );
        const c = await log.consumer({ group: 'g', topics: ['t'] });
        assert.equal((await pollN(c, 10)).length, 10);
        await c.commit();
        const committed = await log.committedOffsets('g', 't');
        const ends = await log.offsets('t');
        for (const o of ends) assert.equal(committed.get(o.partition), o.end);
        await c.close();

        await restart();
        assert.deepEqual(await log.committedOffsets('g', 't'), committed);
        await log.append(
          't',
          Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: text(`new${i}`) })),
        );
        const again = await log.consumer({ group: 'g', topics: ['t'] });
        const records = await pollN(again, 5);
        assert.deepEqual(records.map((r) => r.value.toString()).sort(), [
          'new0',
          'new1',
          'new2',
          'new3',
          'new4',
        ]);
        assert.deepEqual(await again.poll({ timeoutMs: 100 }), []);
        await again.close();
      });

      it('starts a new group at the earliest or latest offset as asked', async () => {
        await log.ensureTopic('t', { partitions: 1 });
        await log.append(
          't',
          Array.from({ length: 5 }, (_, i) => ({ value: text(`before${i}`) })),
        );
        const latest = await log.consumer({ group: 'late', topics: ['t'], from: 'latest' });
        const earliest = await log.consumer({ group: 'early', topics: ['t'] });
        await latest.poll({ timeoutMs: 200 });
        await log.append('t', [{ value: text('after0') }, { value: text('after1') }]);
        const fromLatest = await pollN(latest, 2);
        assert.deepEqual(
          fromLatest.map((r) => r.value.toString()),
          ['after0', 'after1'],
        );
        const fromEarliest = await pollN(earliest, 7);
        assert.deepEqual(
          fromEarliest.map((r) => r.offset),
          [0, 1, 2, 3, 4, 5, 6],
        );
        await latest.close();
        await earliest.close();
      });

      it('wakes a waiting poll when records arrive, bounded by maxRecords', async () => {
        await log.ensureTopic('t', { partitions: 1 });
        const c = await log.consumer({ group: 'g', topics: ['t'] });
        await c.poll({ timeoutMs: 50 });
        const started = Date.now();
        const polled = c.poll({ timeoutMs: 5000, maxRecords: 3 });
        setTimeout(() => {
          log
            .append(
              't',
              Array.from({ length: 10 }, (_, i) => ({ value: text(String(i)) })),
            )
            .catch(() => undefined);
        }, 100);
        const records = await polled;
        assert.ok(Date.now() - started < 4000, 'poll returned when records arrived, not at its timeout');
        assert.ok(records.length >= 1 && records.length <= 3);
        const rest = await pollN(c, 10 - records.length);
        assert.deepEqual(
          [...records, ...rest].map((r) => r.offset),
          Array.from({ length: 10 }, (_, i) => i),
        );
        await c.close();
      });

      it('seeks an owned partition and commits explicit offsets', async () => {
        await log.ensureTopic('t', { partitions: 1 });
        await log.append(
          't',
          Array.from({ length: 6 }, (_, i) => ({ value: text(String(i)) })),
        );
        const c = await log.consumer({ group: 'g', topics: ['t'] });
        assert.equal((await pollN(c, 6)).length, 6);
        c.seek({ topic: 't', partition: 0, offset: 2 });
        assert.deepEqual(
          (await pollN(c, 4)).map((r) => r.offset),
          [2, 3, 4, 5],
        );
        await c.commit([{ topic: 't', partition: 0, offset: 3 }]);
        assert.equal((await log.committedOffsets('g', 't')).get(0), 3);
        await c.close();
        const next = await log.consumer({ group: 'g', topics: ['t'] });
        assert.equal((await pollN(next, 3))[0]?.offset, 3);
        await next.close();
      });
    });

    describe('retention', () => {
      it('deletes the oldest data beyond retentionBytes, keeping recent records at their offsets', async () => {
        await log.ensureTopic('t', { partitions: 1, segmentBytes: 1024, retentionBytes: 4096 });
        for (let i = 0; i < 100; i++) await log.append('t', [{ value: Buffer.alloc(200, i % 256) }]);
        await eventually(async () => {
          await log.enforceRetention();
          return (await log.offsets('t'))[0]!.start > 0;
        }, 'size retention to delete old records');
        const [range] = await log.offsets('t');
        assert.equal(range!.end, 100);
        assert.ok(range!.start <= 90, 'the most recent ~2 KB are kept');
        const kept = await readAll(log, 't', 0, 0);
        assert.equal(kept[0]!.offset, range!.start, 'reads below the start begin at the start');
        for (const r of kept) assert.deepEqual(r.value, Buffer.alloc(200, r.offset % 256));
        assert.deepEqual(
          kept.slice(-10).map((r) => r.offset),
          Array.from({ length: 10 }, (_, i) => 90 + i),
        );
      });

      it('deletes data older than retentionMs, keeping recent records at their offsets', async () => {
        await log.ensureTopic('t', { partitions: 1, segmentBytes: 1024, retentionMs: 60 * 60 * 1000 });
        const old = Date.now() - 24 * 60 * 60 * 1000;
        for (let i = 0; i < 20; i++)
          await log.append('t', [{ value: Buffer.alloc(200, 1), timestamp: old + i }]);
        // A last old record larger than a segment, so old and recent data cannot share a segment.
        await log.append('t', [{ value: Buffer.alloc(2048, 1), timestamp: old + 20 }]);
        for (let i = 0; i < 20; i++) await log.append('t', [{ value: Buffer.alloc(200, 2) }]);
        await eventually(async () => {
          await log.enforceRetention();
          const records = await readAll(log, 't', 0);
          return records.every((r) => r.value[0] === 2);
        }, 'age retention to delete old records');
        const records = await readAll(log, 't', 0);
        assert.deepEqual(
          records.map((r) => r.offset),
          Array.from({ length: 20 }, (_, i) => 21 + i),
        );
        assert.equal((await log.offsets('t'))[0]!.end, 41);
        assert.equal(await log.offsetForTimestamp('t', 0, old), 21);
      });

      it('moves a consumer positioned before the retained start to the start', async () => {
        await log.ensureTopic('t', { partitions: 1, segmentBytes: 1024, retentionBytes: 2048 });
        for (let i = 0; i < 40; i++) await log.append('t', [{ value: Buffer.alloc(200, i) }]);
        await eventually(async () => {
          await log.enforceRetention();
          return (await log.offsets('t'))[0]!.start > 0;
        }, 'retention');
        const { start, end } = (await log.offsets('t'))[0]!;
        const c = await log.consumer({ group: 'g', topics: ['t'] });
        const records = await pollN(c, end - start);
        assert.equal(records[0]!.offset, start);
        assert.equal(records.length, end - start);
        await c.close();
      });
    });
  });
}
