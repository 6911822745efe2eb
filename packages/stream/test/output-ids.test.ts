import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeTempDir } from '@tracklane/test-utils';
import { count, decodeJson, from, startEngine, tumbling, type WindowResult } from '../src/index.ts';
import type { Sink } from '../src/sinks/sink.ts';
import { drain, openLog } from './helpers.ts';

interface Ev {
  at: number;
  broken?: boolean;
}

const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);

describe('output ids', () => {
  it('gives branch and late outputs ids from their input record, the same when a checkpoint appends them again', async () => {
    await using dir = await makeTempDir();
    const log = await openLog(`${dir.path}/log`);
    await log.ensureTopic('events', { partitions: 1 });
    await log.ensureTopic('broken', { partitions: 1 });
    // The first sink write fails once the topic outputs of its checkpoint are appended: the checkpoint is
    // retried with the same snapshots, so branch and late outputs are appended twice (at-least-once).
    let failures = 1;
    const sink: Sink<WindowResult<string, number>> = {
      async write() {
        if (failures-- > 0) {
          await new Promise((r) => setTimeout(r, 200));
          throw new Error('store unavailable');
        }
      },
    };
    const pipeline = from(log, 'events', decodeJson<Ev>, { eventTime: (e) => e.at })
      .branch([{ when: (e) => e.broken === true, topic: 'broken' }])
      .keyBy(() => 'all')
      .window(tumbling('1m'))
      .aggregate(count())
      .to(sink, { name: 'counts' });
    const events: Ev[] = [
      { at: T0 },
      { at: T0 + 5 * 60_000 },
      { at: T0 + 10_000, broken: true },
      // Its window closed when the watermark reached T0 + 5 min: late.
      { at: T0 + 20_000 },
    ];
    await log.append(
      'events',
      events.map((e) => ({ key: 'k', value: Buffer.from(JSON.stringify(e)) })),
    );
    const engine = await startEngine({
      log,
      pipelines: [pipeline],
      group: 'g',
      stateDir: `${dir.path}/state`,
    });
    try {
      await drain(engine);
    } finally {
      await engine.stop();
    }
    const broken = await log.read('broken', 0, 0);
    const late = await log.read('late-events', 0, 0);
    assert.equal(broken.length, 2, 'the branch output was appended twice');
    assert.equal(late.length, 2, 'the late event was appended twice');
    assert.deepEqual(
      broken.map((r) => r.headers.id),
      ['broken/counts/events/0/2/0', 'broken/counts/events/0/2/0'],
    );
    assert.deepEqual(
      late.map((r) => r.headers.id),
      ['late-events/counts/events/0/3/0', 'late-events/counts/events/0/3/0'],
    );
    await log.close();
  });
});
