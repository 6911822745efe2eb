import { stat } from 'node:fs/promises';
import type { CollectorContext } from '@tracklane/collector';
import { isTracklaneError } from '@tracklane/core';
import { type Log, partitionLag } from '@tracklane/log';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EndToEndLatency, LatencySummary } from '../end-to-end-latency.ts';

/** A consumer group and the topic it reads, as wired by the composition root. */
export interface WatchedGroup {
  group: string;
  topic: string;
}

export interface PipelineHealth {
  /** Server clock, so a client can turn successive counters into rates. */
  now: number;
  uptimeSeconds: number;
  ingest: {
    accepted: number;
    duplicates: number;
    deadLetters: number;
    rejected: { reason: string; count: number }[];
    refused: { reason: string; count: number }[];
  };
  topics: { topic: string; partitions: { partition: number; start: number; end: number }[] }[];
  groups: {
    group: string;
    topic: string;
    /** Records appended but not yet committed by the group, summed over partitions. */
    lag: number;
    partitions: { partition: number; committed: number; end: number; lag: number }[];
  }[];
  latency: LatencySummary;
  storage: { bytes: number; eventsStoredSinceStart: number };
}

interface PipelineDeps {
  log: Log;
  collector: CollectorContext;
  groups: WatchedGroup[];
  latency: EndToEndLatency;
  /** The DuckDB file; its write-ahead log beside it counts too. */
  databasePath: string;
  eventsStored: () => number;
}

/**
 * `GET /api/pipeline`: what the dashboard's pipeline-health view draws. Counters are since this process
 * started (like /metrics); log offsets and committed offsets are durable, so lag is exact across restarts.
 */
export function registerPipelineHealthRoute(
  app: FastifyInstance,
  deps: PipelineDeps,
  checkApiKey: (request: FastifyRequest) => void,
): void {
  const started = Date.now();
  app.get('/api/pipeline', async (request): Promise<PipelineHealth> => {
    checkApiKey(request);
    const metrics = deps.collector.metrics;
    const [accepted, duplicates, deadLetters, rejected, refused] = await Promise.all([
      metrics.accepted.get(),
      metrics.duplicates.get(),
      metrics.deadLetters.get(),
      metrics.rejected.get(),
      metrics.refused.get(),
    ]);
    const sum = (m: { values: { value: number }[] }) => m.values.reduce((n, v) => n + v.value, 0);
    const byReason = (m: { values: { value: number; labels: Record<string, unknown> }[] }) => {
      const counts = new Map<string, number>();
      for (const v of m.values) {
        const reason = String(v.labels.reason ?? 'unknown');
        counts.set(reason, (counts.get(reason) ?? 0) + v.value);
      }
      return [...counts].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count);
    };

    const topicNames = [...new Set(deps.groups.map((g) => g.topic))];
    const ends = new Map<string, { partition: number; start: number; end: number }[]>();
    for (const topic of topicNames) ends.set(topic, await offsetsOrEmpty(deps.log, topic));
    const groups: PipelineHealth['groups'] = [];
    for (const { group, topic } of deps.groups) {
      const committed = await deps.log.committedOffsets(group, topic).catch(() => new Map<number, number>());
      const partitions = partitionLag(ends.get(topic) ?? [], committed);
      groups.push({ group, topic, lag: partitions.reduce((n, p) => n + p.lag, 0), partitions });
    }

    return {
      now: Date.now(),
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      ingest: {
        accepted: sum(accepted),
        duplicates: sum(duplicates),
        deadLetters: sum(deadLetters),
        rejected: byReason(rejected),
        refused: byReason(refused),
      },
      topics: topicNames.map((topic) => ({ topic, partitions: ends.get(topic) ?? [] })),
      groups,
      latency: deps.latency.summary(),
      storage: {
        bytes: (await fileSize(deps.databasePath)) + (await fileSize(`${deps.databasePath}.wal`)),
        eventsStoredSinceStart: deps.eventsStored(),
      },
    };
  });
}

async function offsetsOrEmpty(
  log: Log,
  topic: string,
): Promise<{ partition: number; start: number; end: number }[]> {
  try {
    return await log.offsets(topic);
  } catch (err) {
    // A topic nobody has written to yet (no dead letters so far) is simply empty.
    if (isTracklaneError(err) && err.code === 'E_TOPIC_NOT_FOUND') return [];
    throw err;
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
