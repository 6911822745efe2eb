import { DDSketch } from '@datadog/sketches-js';
import type { Aggregate } from './aggregate.ts';

/**
 * Quantiles with DDSketch, using Datadog's maintained implementation: relative-error guarantee (every
 * returned quantile is within ±relativeAccuracy of the true value at that rank, default 1%), fully
 * mergeable, and a protobuf wire form for the state store.
 *
 * The result maps `p50`, `p95`, `p99.9`... to values; null for an empty window.
 */
export function percentiles<T>(
  of: (input: T) => number | null | undefined,
  quantiles: number[] = [0.5, 0.95, 0.99],
  options: { relativeAccuracy?: number } = {},
): Aggregate<T, DDSketch, Record<string, number | null>> {
  const relativeAccuracy = options.relativeAccuracy ?? 0.01;
  const labels = quantiles.map((q) => `p${Math.round(q * 1000) / 10}`);
  return {
    name: 'percentiles',
    extract: of,
    create: () => new DDSketch({ relativeAccuracy }),
    add(acc, v) {
      if (typeof v === 'number' && Number.isFinite(v)) acc.accept(v);
      return acc;
    },
    merge(a, b) {
      a.merge(b);
      return a;
    },
    result(acc) {
      const out: Record<string, number | null> = {};
      quantiles.forEach((q, i) => {
        out[labels[i]!] = acc.count === 0 ? null : acc.getValueAtQuantile(q);
      });
      return out;
    },
    toJSON: (acc) => Buffer.from(acc.toProto()).toString('base64'),
    fromJSON(json) {
      // fromProto keeps the bins (all quantiles need) but not the exact min/max summary.
      return DDSketch.fromProto(new Uint8Array(Buffer.from(json as string, 'base64')));
    },
  };
}
