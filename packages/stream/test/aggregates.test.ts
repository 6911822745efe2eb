import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Aggregate,
  aggregates,
  approxDistinct,
  avg,
  count,
  distinct,
  HyperLogLog,
  max,
  min,
  percentiles,
  sum,
  topK,
} from '../src/index.ts';
import { random } from './fixture.ts';

/** Folds inputs split across two partial accumulators, merged through their JSON form like a checkpoint. */
function run<T, A, R>(agg: Aggregate<T, A, R>, inputs: T[]): R {
  let a = agg.create();
  let b = agg.create();
  inputs.forEach((input, i) => {
    if (i % 2 === 0) a = agg.add(a, agg.extract(input));
    else b = agg.add(b, agg.extract(input));
  });
  const stored = agg.fromJSON(JSON.parse(JSON.stringify(agg.toJSON(a))));
  return agg.result(agg.merge(stored, b));
}

describe('aggregates', () => {
  it('computes count, sum, min, max and avg through merge and serialisation', () => {
    const values = [5, 1, 9, 3, Number.NaN, 2];
    const result = run(
      aggregates({
        n: count<number>(),
        sum: sum((v: number) => v),
        min: min((v: number) => v),
        max: max((v: number) => v),
        avg: avg((v: number) => v),
      }),
      values,
    );
    assert.deepEqual(result, { n: 6, sum: 20, min: 1, max: 9, avg: 4 });
  });

  it('counts distinct values exactly', () => {
    assert.equal(
      run(
        distinct((v: string) => v),
        ['a', 'b', 'a', 'c', 'b'],
      ),
      3,
    );
  });

  it('estimates distinct counts with HyperLogLog within three standard errors', () => {
    const bound = 3 * HyperLogLog.standardError(14);
    assert.ok(Math.abs(bound - 0.0244) < 0.001);
    for (const n of [10, 1_000, 50_000, 300_000]) {
      const ids = Array.from({ length: n }, (_, i) => `user-${i}`);
      const estimate = run(
        approxDistinct((v: string) => v),
        [...ids, ...ids.slice(0, n / 2)],
      );
      assert.ok(Math.abs(estimate - n) <= Math.max(1, n * bound), `n=${n}: estimated ${estimate}`);
    }
  });

  it('reports percentiles within DDSketch relative accuracy', () => {
    const rand = random(1);
    const values = Array.from({ length: 20_000 }, () => Math.exp(rand() * 10));
    const sorted = [...values].sort((a, b) => a - b);
    const result = run(
      percentiles((v: number) => v, [0.5, 0.99]),
      values,
    );
    for (const [label, q] of [
      ['p50', 0.5],
      ['p99', 0.99],
    ] as const) {
      const exact = sorted[Math.floor(q * (sorted.length - 1))]!;
      assert.ok(Math.abs(result[label]! - exact) / exact <= 0.02, `${label}: ${result[label]} vs ${exact}`);
    }
  });

  it('finds the top k values', () => {
    const words = 'a b a c a b d e a b c'.split(' ');
    assert.deepEqual(
      run(
        topK((w: string) => w, 2),
        words,
      ),
      [
        { value: 'a', count: 4 },
        { value: 'b', count: 3 },
      ],
    );
  });

  it('keeps heavy hitters when distinct values overflow the top-k capacity', () => {
    const rand = random(2);
    const inputs: string[] = [];
    for (let i = 0; i < 20_000; i++) inputs.push(rand() < 0.3 ? `hot-${i % 3}` : `cold-${i}`);
    const top = run(
      topK((w: string) => w, 3, { capacity: 100 }),
      inputs,
    ).map((e) => e.value);
    assert.deepEqual([...top].sort(), ['hot-0', 'hot-1', 'hot-2']);
  });
});
