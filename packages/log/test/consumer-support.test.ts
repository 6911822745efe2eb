import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callRebalanceListener, partitionLag, pollLimits, SingleFlight } from '../src/index.ts';

describe('what every Log implementation shares', () => {
  it('pollLimits: 500 records and 1 s by default; refuses a count that is not a positive integer', () => {
    const before = Date.now();
    const { maxRecords, deadline } = pollLimits();
    assert.equal(maxRecords, 500);
    assert.ok(deadline >= before + 1000 && deadline <= Date.now() + 1000);
    assert.equal(pollLimits({ maxRecords: 7, timeoutMs: 0 }).maxRecords, 7);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => pollLimits({ maxRecords: bad }), { code: 'E_BAD_ARGUMENT' });
    }
  });

  it('callRebalanceListener turns a throwing listener into a warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const seen: number[] = [];
      callRebalanceListener((a) => seen.push(a.length), [{ topic: 't', partition: 0 }], 'm1');
      callRebalanceListener(
        () => {
          throw new Error('boom');
        },
        [],
        'm2',
      );
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(seen, [1]);
      assert.deepEqual(warnings, ['onRebalance listener of m2 threw: boom']);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('SingleFlight: a call while one runs joins it; the next call after it starts another', async () => {
    let runs = 0;
    let release!: () => void;
    const flight = new SingleFlight(async () => {
      runs++;
      await new Promise<void>((r) => {
        release = r;
      });
    });
    const first = flight.run();
    const second = flight.run();
    assert.equal(runs, 1);
    assert.ok(flight.running !== null);
    release();
    await Promise.all([first, second]);
    assert.equal(flight.running, null);
    const third = flight.run();
    assert.equal(runs, 2);
    release();
    await third;
  });
});

describe('partitionLag', () => {
  it('counts from the committed offset, or from the earliest retained record when nothing is committed', () => {
    const offsets = [
      { partition: 0, start: 0, end: 10 },
      { partition: 1, start: 4, end: 9 },
      { partition: 2, start: 0, end: 3 },
    ];
    assert.deepEqual(
      partitionLag(
        offsets,
        new Map([
          [0, 7],
          [2, 5],
        ]),
      ),
      [
        { partition: 0, committed: 7, end: 10, lag: 3 },
        { partition: 1, committed: 4, end: 9, lag: 5 },
        { partition: 2, committed: 5, end: 3, lag: 0 },
      ],
    );
  });
});
