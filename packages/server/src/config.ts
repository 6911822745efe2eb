import type { CollectorOptions } from '@tracklane/collector';

export interface TracklaneConfig {
  port: number;
  /** Interface to bind; 127.0.0.1 by default so nothing is exposed until the operator decides to. */
  host: string;
  dataDir: string;
  /** Write keys, one source each. Empty: reuse the saved ones or generate one. */
  writeKeys: string[];
  apiKey?: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Partitions of the `events` topic, fixed when the topic is first created. */
  eventPartitions: number;
  /** Delete raw events older than this (ms), checked hourly. Undefined: keep forever. */
  retentionMs?: number | undefined;
  /** Write each closed UTC day of raw events as Parquet under this directory. Undefined: off. */
  exportDir?: string | undefined;
  /** Run the built-in stream pipelines (counts per minute, unique users, sessions, profiles). Default on. */
  pipelines?: boolean;
  /** Worker threads for the built-in pipelines (0: the main thread). Default: min(2, cores - 1). */
  streamWorkers?: number | undefined;
  /** Serve the instrumented demo site at /demo/. */
  demo?: boolean;
  /** Ingestion tuning (limits, privacy, dedup, CORS, tracking plans); unset fields take the defaults. */
  collector?: Partial<CollectorOptions>;
}

export const DEFAULT_CONFIG: TracklaneConfig = {
  port: 8080,
  host: '127.0.0.1',
  dataDir: '.tracklane',
  writeKeys: [],
  logLevel: 'info',
  eventPartitions: 4,
};
