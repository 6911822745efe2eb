import { TracklaneError } from '@tracklane/core';
import type { Log } from '@tracklane/log';
import type { CollectorContext } from './collector-context.ts';
import { type CollectorOptions, DEFAULT_COLLECTOR_OPTIONS } from './collector-options.ts';
import { DEAD_LETTER_TOPIC } from './dead-letter.ts';
import { DedupIndex } from './dedup/dedup-index.ts';
import { buildEnrichment } from './enrich/build-enrichment.ts';
import { type GeoReader, openGeoIp } from './enrich/geo-ip.ts';
import { InFlightGate } from './limits/in-flight-gate.ts';
import { TokenBuckets } from './limits/token-buckets.ts';
import { CollectorMetrics } from './metrics.ts';
import type { SourceRegistry } from './sources.ts';
import { compileTrackingPlans } from './tracking-plan.ts';

export interface Collector {
  context: CollectorContext;
  /** Flushes the dedup index; call after the HTTP server stopped accepting requests. */
  close(): Promise<void>;
}

/**
 * Builds everything the collector's routes share: the persisted dedup index under `stateDir`, limits,
 * metrics, the enrichment steps (opening the geo-IP database if configured) and compiled tracking plans.
 */
export async function openCollector(params: {
  log: Log;
  sources: SourceRegistry;
  stateDir: string;
  options?: Partial<CollectorOptions>;
}): Promise<Collector> {
  const options: CollectorOptions = { ...DEFAULT_COLLECTOR_OPTIONS };
  for (const [key, value] of Object.entries(params.options ?? {})) {
    if (value !== undefined) (options as unknown as Record<string, unknown>)[key] = value;
  }
  await params.log.ensureTopic(DEAD_LETTER_TOPIC, { partitions: 1 });
  let geo: GeoReader | undefined;
  if (options.geoIpDatabase !== undefined) {
    try {
      geo = await openGeoIp(options.geoIpDatabase);
    } catch (err) {
      throw new TracklaneError(
        'E_CONFIG',
        `cannot open the geo-IP database ${options.geoIpDatabase}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  let plans: ReturnType<typeof compileTrackingPlans>;
  try {
    plans = compileTrackingPlans(options.trackingPlans);
  } catch (err) {
    throw new TracklaneError('E_CONFIG', `invalid tracking plan: ${(err as Error).message}`, { cause: err });
  }
  const snowplowSource =
    options.snowplowWriteKey === undefined ? undefined : params.sources.lookup(options.snowplowWriteKey);
  if (options.snowplowWriteKey !== undefined && snowplowSource === undefined) {
    throw new TracklaneError('E_CONFIG', 'the Snowplow write key is not one of the configured write keys');
  }
  const dedup = await DedupIndex.open(params.stateDir, {
    windowMs: options.dedupWindowMs,
    maxEntries: options.dedupMaxEntries,
  });
  const context: CollectorContext = {
    log: params.log,
    sources: params.sources,
    options,
    metrics: new CollectorMetrics(),
    dedup,
    gate: new InFlightGate(options.maxInFlightEvents),
    keyBuckets:
      options.rateLimitPerKey > 0
        ? new TokenBuckets(options.rateLimitPerKey, options.rateLimitPerKey * 2)
        : undefined,
    ipBuckets:
      options.rateLimitPerIp > 0
        ? new TokenBuckets(options.rateLimitPerIp, options.rateLimitPerIp * 2)
        : undefined,
    enrichment: buildEnrichment({ ip: options.ip, geo }),
    plans,
    snowplowSource,
  };
  return { context, close: () => dedup.close() };
}
