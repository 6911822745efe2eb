import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Consumer, Log, RecordInput, TopicPartitionOffset } from '@tracklane/log';
import { makeTempDir } from '@tracklane/test-utils';
import { count, decodeJson, from, startEngine, tumbling, type WindowResult } from '../src/index.ts';
import { drain, openLog, upsertSink } from './helpers.ts';

interface Ev {
  id: number;
  t: number;
  poison?: boolean;
}

describe('failure handling', () => {
  it('sends a poison event to dead letters after retries and keeps processing the rest', async () => {
    await using dir = await makeTempDir();
    const log = await openLog(`${dir.path}/log`);
    await log.ensureTopic('in', { partitions: 1 });
    const values = [
      ...Array.from({ length: 5 }, (_, i) => JSON.stringify({ id: i, t: 1000 })),
      '{not json', // fails in decode
      JSON.stringify({ id: 99, t: 1000, poison: true }), // fails in map
      ...Array.from({ length: 5 }, (_, i) => JSON.stringify({ id: 10 + i, t: 1000 })),
    ];
    await log.append(
      'in',
      values.map((v) => ({ value: Buffer.from(v) })),
    );
    let attempts = 0;
    const out = upsertSink<WindowResult<string, number>>((r) => r.key);
    const pipeline = from(log, 'in', decodeJson<Ev>, { eventTime: (e) => e.t })
      .map((e) => {
        if (e.poison) {
          attempts++;
          throw new Error('cannot enrich event 99');
        }
        return e;
      }, 'enrich')
      .keyBy(() => 'all')
      .window(tumbling('1m'))
      .aggregate(count())
      .to(out, { name: 'counting' });
    const engine = await startEngine({
      log,
      pipelines: [pipeline],
      group: 'g',
      stateDir: `${dir.path}/state`,
      retry: { retries: 2, initialDelayMs: 1 },
    });
    await drain(engine);
    await engine.stop();
    assert.equal(out.rows.get('all')?.value, 10);
    assert.equal(attempts, 3);
    const letters = await log.read('dead-letter', 0, 0);
    assert.deepEqual(
      letters.map((l) => [l.headers.stage, l.headers.operator, l.value.toString()]),
      [
        ['counting', 'decode', '{not json'],
        ['counting', 'enrich', values[6]],
      ],
    );
    assert.equal(letters[1]!.headers.reason, 'cannot enrich event 99');
    assert.equal(letters[1]!.headers['source-offset'], '6');
    await log.close();
  });

  it('restarts from its checkpoint when dead-lettering itself fails, still counting each event once', async () => {
    await using dir = await makeTempDir();
    const real = await openLog(`${dir.path}/log`);
    await real.ensureTopic('in', { partitions: 1 });
    let failAppends = 1;
    // The log refuses the first dead letter, as a full disk would.
    const log = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'append') {
          return async (topic: string, records: RecordInput[], options?: { partition?: number }) => {
            if (topic === 'dead-letter' && failAppends-- > 0) throw new Error('disk full');
            return target.append(topic, records, options);
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const values = [
      ...Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: i, t: 1000 })),
      '{poison',
      ...Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: 100 + i, t: 1000 })),
    ];
    await real.append(
      'in',
      values.map((v) => ({ value: Buffer.from(v) })),
    );
    const out = upsertSink<WindowResult<string, number>>((r) => r.key);
    const engine = await startEngine({
      log,
      pipelines: [
        from(log, 'in', decodeJson<Ev>, { eventTime: (e) => e.t })
          .keyBy(() => 'all')
          .window(tumbling('1m'))
          .aggregate(count())
          .to(out, { name: 'counting' }),
      ],
      group: 'g',
      stateDir: `${dir.path}/state`,
      retry: { retries: 0 },
      maxPollRecords: 10,
      checkpointIntervalMs: 0,
    });
    await drain(engine);
    await engine.stop();
    assert.equal(failAppends, -1, 'the failing append was hit, then the retry went through');
    assert.equal(out.rows.get('all')?.value, 100);
    assert.equal((await real.read('dead-letter', 0, 0)).length, 1);
    await real.close();
  });

  it('retries a failed consumer-group commit, so the group shows no lag once the records are processed', async () => {
    await using dir = await makeTempDir();
    const log = await openLog(`${dir.path}/log`);
    await log.ensureTopic('in', { partitions: 2 });
    await log.append(
      'in',
      Array.from({ length: 300 }, (_, i) => ({
        key: `k${i % 7}`,
        value: Buffer.from(JSON.stringify({ id: i, t: i })),
      })),
    );
    // The group commit fails (as during a broker election) until the records are all processed.
    let failCommits = true;
    let failed = 0;
    const flaky: Log = Object.create(log) as Log;
    flaky.consumer = async (options) => {
      const consumer = await log.consumer(options);
      const commit = consumer.commit.bind(consumer);
      return Object.assign(Object.create(consumer) as Consumer, {
        commit: async (offsets?: TopicPartitionOffset[]) => {
          if (failCommits) {
            failed++;
            throw new Error('no responders');
          }
          return commit(offsets);
        },
      });
    };
    const engine = await startEngine({
      log: flaky,
      pipelines: [from(flaky, 'in', decodeJson<Ev>).to({ async write() {} }, { name: 'sink' })],
      group: 'g',
      stateDir: `${dir.path}/state`,
      checkpointIntervalMs: 20,
    });
    await drain(engine);
    assert.ok(failed > 0, 'a commit was attempted and failed');
    failCommits = false;
    const lag = async () => {
      const committed = await log.committedOffsets('g', 'in');
      return (await log.offsets('in')).reduce((n, p) => n + p.end - (committed.get(p.partition) ?? 0), 0);
    };
    const deadline = Date.now() + 5_000;
    while ((await lag()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await lag(), 0, 'the group committed every processed offset');
    await engine.stop();
    await log.close();
  });

  it('holds consumption back while the sink is slow: bounded batches in flight', async () => {
    await using dir = await makeTempDir();
    const log = await openLog(`${dir.path}/log`);
    await log.ensureTopic('in', { partitions: 1 });
    await log.append(
      'in',
      Array.from({ length: 2000 }, (_, i) => ({ value: Buffer.from(JSON.stringify({ id: i, t: i })) })),
    );
    let writing = false;
    let maxAhead = 0;
    let processedAtWrite = 0;
    const engine = await startEngine({
      log,
      pipelines: [
        from(log, 'in', decodeJson<Ev>).to(
          {
            async write() {
              writing = true;
              processedAtWrite = engine.stats().records;
              await new Promise((r) => setTimeout(r, 100));
              maxAhead = Math.max(maxAhead, engine.stats().records - processedAtWrite);
              writing = false;
            },
          },
          { name: 'slow' },
        ),
      ],
      group: 'g',
      stateDir: `${dir.path}/state`,
      maxPollRecords: 50,
      maxInFlightBatches: 2,
      checkpointIntervalMs: 0,
    });
    await drain(engine, 60_000);
    await engine.stop();
    await log.close();
    assert.equal(writing, false);
    // While one write took 100 ms the engine read at most 2 more batches of 50.
    assert.ok(maxAhead <= 100, `processed ${maxAhead} records during one slow write`);
    assert.ok(engine.stats().checkpoints >= 10, JSON.stringify(engine.stats()));
  });
});
