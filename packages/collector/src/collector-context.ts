import type { Log } from '@tracklane/log';
import type { CollectorOptions } from './collector-options.ts';
import type { DedupIndex } from './dedup/dedup-index.ts';
import type { EnrichStep } from './enrich/enrich-step.ts';
import type { InFlightGate } from './limits/in-flight-gate.ts';
import type { TokenBuckets } from './limits/token-buckets.ts';
import type { CollectorMetrics } from './metrics.ts';
import type { Source, SourceRegistry } from './sources.ts';
import type { TrackingPlan } from './tracking-plan.ts';

/** What every collector route needs; built once by `openCollector`. */
export interface CollectorContext {
  log: Log;
  sources: SourceRegistry;
  options: CollectorOptions;
  metrics: CollectorMetrics;
  dedup: DedupIndex;
  gate: InFlightGate;
  keyBuckets: TokenBuckets | undefined;
  ipBuckets: TokenBuckets | undefined;
  enrichment: EnrichStep[];
  /** By source id; '*' applies to sources without their own. */
  plans: Map<string, TrackingPlan>;
  /** Where Snowplow events without a key of their own go, if the operator named a source for them. */
  snowplowSource: Source | undefined;
}
