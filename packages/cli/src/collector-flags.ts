import { readFileSync } from 'node:fs';
import type { TracklaneConfig } from '@tracklane/server';
import { type Command, InvalidArgumentError, Option } from 'commander';

/** `tracklane start` flags for the collector; each also reads an environment variable. */
export function addCollectorFlags(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--ip <mode>',
        'client IP kept on events: anonymize (last octet / 80 bits zeroed), drop, keep',
      )
        .env('TRACKLANE_IP')
        .choices(['anonymize', 'drop', 'keep'])
        .default('anonymize'),
    )
    .addOption(
      new Option('--geoip-db <file>', 'MaxMind-format .mmdb file for country/region/city enrichment').env(
        'TRACKLANE_GEOIP_DB',
      ),
    )
    .addOption(
      new Option('--cors-origins <origins>', 'comma-separated origins browsers may send events from, or *')
        .env('TRACKLANE_CORS_ORIGINS')
        .default('*'),
    )
    .addOption(
      new Option('--rate-limit-key <n>', 'events per second per write key (token bucket, burst 2 s; 0: off)')
        .env('TRACKLANE_RATE_LIMIT_KEY')
        .argParser(nonNegativeInt)
        .default(20_000),
    )
    .addOption(
      new Option('--rate-limit-ip <n>', 'requests per second per client IP (token bucket, burst 2 s; 0: off)')
        .env('TRACKLANE_RATE_LIMIT_IP')
        .argParser(nonNegativeInt)
        .default(2_000),
    )
    .addOption(
      new Option('--max-in-flight <n>', 'events being appended at once before answering 503 + Retry-After')
        .env('TRACKLANE_MAX_IN_FLIGHT')
        .argParser(positiveInt)
        .default(20_000),
    )
    .addOption(
      new Option(
        '--dedup-window <duration>',
        'a messageId is accepted once per source within this window (e.g. 24h, 30m)',
      )
        .env('TRACKLANE_DEDUP_WINDOW')
        .argParser(duration)
        .default(24 * 3_600_000, '24h'),
    )
    .addOption(
      new Option('--dedup-max-entries <n>', 'messageIds remembered for dedup (bounds memory)')
        .env('TRACKLANE_DEDUP_MAX_ENTRIES')
        .argParser(positiveInt)
        .default(1_000_000),
    )
    .addOption(
      new Option(
        '--snowplow-write-key <key>',
        'source for Snowplow events that carry no key (aid, Basic, ?writeKey=)',
      ).env('TRACKLANE_SNOWPLOW_WRITE_KEY'),
    )
    .addOption(
      new Option(
        '--trust-proxy <proxies>',
        'use X-Forwarded-For for the client IP only from these proxies: comma-separated addresses/CIDRs ' +
          '(or loopback, linklocal, uniquelocal), "all", or "off"',
      )
        .env('TRACKLANE_TRUST_PROXY')
        .default('off'),
    )
    .addOption(
      new Option('--request-timeout <duration>', 'time a client has to send a whole request before 408')
        .env('TRACKLANE_REQUEST_TIMEOUT')
        .argParser(duration)
        .default(30_000, '30s'),
    )
    .addOption(
      new Option(
        '--tracking-plan <file>',
        'JSON file: {"<source id>|*": {"mode": "strict"|"warn", "events": {"<name>": <JSON Schema of properties>}}}',
      ).env('TRACKLANE_TRACKING_PLAN'),
    );
}

export interface CollectorFlags {
  ip: 'anonymize' | 'drop' | 'keep';
  geoipDb?: string;
  corsOrigins: string;
  rateLimitKey: number;
  rateLimitIp: number;
  maxInFlight: number;
  dedupWindow: number;
  dedupMaxEntries: number;
  snowplowWriteKey?: string;
  trackingPlan?: string;
  trustProxy: string;
  requestTimeout: number;
}

export function collectorConfigFrom(flags: CollectorFlags): NonNullable<TracklaneConfig['collector']> {
  return {
    ip: flags.ip,
    geoIpDatabase: flags.geoipDb,
    corsOrigins: flags.corsOrigins
      .split(',')
      .map((o) => o.trim())
      .filter((o) => o.length > 0),
    rateLimitPerKey: flags.rateLimitKey,
    rateLimitPerIp: flags.rateLimitIp,
    maxInFlightEvents: flags.maxInFlight,
    dedupWindowMs: flags.dedupWindow,
    dedupMaxEntries: flags.dedupMaxEntries,
    snowplowWriteKey: flags.snowplowWriteKey,
    trackingPlans:
      flags.trackingPlan === undefined ? undefined : JSON.parse(readFileSync(flags.trackingPlan, 'utf8')),
    trustProxy: trustProxyFrom(flags.trustProxy),
    requestTimeoutMs: flags.requestTimeout,
  };
}

function trustProxyFrom(value: string): boolean | string[] {
  const v = value.trim();
  if (v === 'off' || v === '') return false;
  if (v === 'all') return true;
  return v
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number >= 0');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number >= 1');
  return n;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function duration(value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  if (match === null) throw new InvalidArgumentError('expected a duration like 24h, 30m, 90s or 500ms');
  return Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 1_000);
}
