import { useEffect, useRef, useState } from 'preact/hooks';
import { sqlString } from '../api.ts';
import { Chart } from '../chart.tsx';
import { Card, ErrorNote, Loading, markFirstData, Stat, useApi, useQuery } from '../components.tsx';
import { hrefFor } from '../route.ts';
import { formatBytes, formatDuration, formatNumber } from '../time.ts';

interface PipelineHealth {
  now: number;
  uptimeSeconds: number;
  ingest: {
    accepted: number;
    duplicates: number;
    deadLetters: number;
    rejected: { reason: string; count: number }[];
    refused: { reason: string; count: number }[];
  };
  groups: {
    group: string;
    topic: string;
    lag: number;
    partitions: { partition: number; committed: number; end: number; lag: number }[];
  }[];
  latency: {
    p50Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
    samples: number;
    windowSeconds: number;
  };
  storage: { bytes: number; eventsStoredSinceStart: number };
}

const POLL_MS = 2_000;
const HISTORY = 150;

export function Pipeline({ sub, params }: { sub: string | undefined; params: URLSearchParams }) {
  if (sub === 'dead-letters') return <DeadLetters reason={params.get('reason') ?? undefined} />;
  return <Health />;
}

function Health() {
  const api = useApi();
  const [health, setHealth] = useState<PipelineHealth | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const history = useRef<{ t: number; rate: number }[]>([]);
  const previous = useRef<PipelineHealth | undefined>(undefined);
  useEffect(() => {
    const controller = new AbortController();
    const poll = async () => {
      try {
        const next = await api.get<PipelineHealth>('/api/pipeline', controller.signal);
        const prev = previous.current;
        if (prev !== undefined && next.now > prev.now) {
          const rate = ((next.ingest.accepted - prev.ingest.accepted) * 1000) / (next.now - prev.now);
          history.current = [
            ...history.current.slice(-(HISTORY - 1)),
            { t: next.now / 1000, rate: Math.max(0, rate) },
          ];
        }
        previous.current = next;
        setHealth(next);
        setError(undefined);
        markFirstData();
      } catch (err) {
        if (!controller.signal.aborted) setError(err as Error);
      }
    };
    void poll();
    const timer = setInterval(poll, POLL_MS);
    return () => {
      controller.abort();
      clearInterval(timer);
    };
  }, [api]);
  const deadLetters = useQuery('dead-letter-reasons', (signal) =>
    api.sql<{ reason: string; stage: string; n: number; last: string }>(
      'SELECT reason, stage, count(*) AS n, max(failed_at) AS last FROM dead_letters GROUP BY reason, stage ORDER BY n DESC LIMIT 50',
      signal,
    ),
  );
  const rate = history.current.at(-1)?.rate;
  const totalLag = health?.groups.reduce((n, g) => n + g.lag, 0) ?? 0;
  const rejected = health?.ingest.rejected.reduce((n, r) => n + r.count, 0) ?? 0;
  const x = history.current.map((h) => h.t);
  const series = [{ label: 'accepted events/s', values: history.current.map((h) => h.rate) }];

  return (
    <div class="view">
      <div class="view-head">
        <h1>Pipeline health</h1>
        <span class="muted">
          {health === undefined
            ? ''
            : `up ${formatDuration(health.uptimeSeconds * 1000)} · refreshed every 2 s`}
        </span>
      </div>
      <ErrorNote error={error} />
      <div class="stats">
        <Stat
          label="Ingest rate"
          hint="accepted events/s"
          value={rate === undefined ? 'measuring…' : `${formatNumber(rate, 1)}/s`}
          testId="pipeline-rate"
        />
        <Stat
          label="Accepted since start"
          value={formatNumber(health?.ingest.accepted)}
          testId="pipeline-accepted"
        />
        <Stat
          label="Rejected since start"
          value={formatNumber(health === undefined ? undefined : rejected)}
          tone={rejected > 0 ? 'bad' : undefined}
          testId="pipeline-rejected"
        />
        <Stat
          label="Log lag (records)"
          value={formatNumber(health === undefined ? undefined : totalLag)}
          tone={totalLag > 10_000 ? 'bad' : undefined}
          testId="pipeline-lag"
        />
        <Stat
          label="Latency p50"
          hint="received → stored, last 5 min"
          value={health === undefined ? '…' : formatDuration(health.latency.p50Ms)}
          testId="pipeline-latency-p50"
        />
        <Stat
          label="Latency p99"
          hint={health === undefined ? undefined : `${formatNumber(health.latency.samples)} samples`}
          value={health === undefined ? '…' : formatDuration(health.latency.p99Ms)}
          testId="pipeline-latency-p99"
        />
        <Stat
          label="Storage size"
          hint={`${formatNumber(health?.storage.eventsStoredSinceStart)} events stored since start`}
          value={health === undefined ? '…' : formatBytes(health.storage.bytes)}
          testId="pipeline-storage"
        />
      </div>
      <Card title="Ingest rate">
        {x.length > 1 ? (
          <Chart x={x} series={series} height={180} integer={false} label="Accepted events per second" />
        ) : (
          <p class="empty">Measuring… (two samples needed)</p>
        )}
      </Card>
      <div class="grid">
        <Card title="Consumer groups">
          <table data-testid="pipeline-groups">
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">Topic</th>
                <th scope="col" class="num">
                  Committed
                </th>
                <th scope="col" class="num">
                  End
                </th>
                <th scope="col" class="num">
                  Lag
                </th>
              </tr>
            </thead>
            <tbody>
              {health?.groups.map((g) => (
                <tr key={`${g.group}/${g.topic}`}>
                  <td>{g.group}</td>
                  <td class="mono">{g.topic}</td>
                  <td class="num">{formatNumber(g.partitions.reduce((n, p) => n + p.committed, 0))}</td>
                  <td class="num">{formatNumber(g.partitions.reduce((n, p) => n + p.end, 0))}</td>
                  <td class={`num ${g.lag > 0 ? 'warn' : ''}`}>{formatNumber(g.lag)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
        <Card title="Rejected at the collector (since start)">
          {health !== undefined && health.ingest.rejected.length === 0 && (
            <p class="empty">Nothing rejected.</p>
          )}
          <ul class="reasons">
            {health?.ingest.rejected.map((r) => (
              <li key={r.reason}>
                <a href={hrefFor(['pipeline', 'dead-letters'], { reason: r.reason })}>{r.reason}</a>{' '}
                <span class="num">{formatNumber(r.count)}</span>
              </li>
            ))}
            {health?.ingest.refused.map((r) => (
              <li key={`refused-${r.reason}`}>
                refused: {r.reason} <span class="num">{formatNumber(r.count)}</span>
              </li>
            ))}
            {health !== undefined && health.ingest.duplicates > 0 && (
              <li>
                duplicates dropped <span class="num">{formatNumber(health.ingest.duplicates)}</span>
              </li>
            )}
          </ul>
        </Card>
        <Card
          title="Dead letters (all time)"
          actions={<a href={hrefFor(['pipeline', 'dead-letters'])}>View all</a>}
        >
          <ErrorNote error={deadLetters.error} />
          {deadLetters.data !== undefined && deadLetters.data.length === 0 && (
            <p class="empty">No dead letters.</p>
          )}
          <ul class="reasons" data-testid="dead-letter-reasons">
            {deadLetters.data?.map((r) => (
              <li key={`${r.stage}/${r.reason}`}>
                <a href={hrefFor(['pipeline', 'dead-letters'], { reason: r.reason })}>
                  <span class="pill">{r.stage}</span> {r.reason}
                </a>{' '}
                <span class="num">{formatNumber(Number(r.n))}</span>
              </li>
            ))}
          </ul>
        </Card>
      </div>
    </div>
  );
}

function DeadLetters({ reason }: { reason: string | undefined }) {
  const api = useApi();
  const { data, error, loading } = useQuery(`dead-letters:${reason ?? ''}`, (signal) =>
    api.sql<{
      id: string;
      stage: string;
      reason: string;
      source_id: string | null;
      message_id: string | null;
      failed_at: string;
      payload: string;
    }>(
      `SELECT id, stage, reason, source_id, message_id, failed_at, left(payload, 400) AS payload FROM dead_letters
       ${reason === undefined ? '' : `WHERE starts_with(reason, ${sqlString(reason)})`} ORDER BY failed_at DESC LIMIT 200`,
      signal,
    ),
  );
  return (
    <div class="view">
      <div class="view-head">
        <h1>Dead letters{reason === undefined ? '' : `: ${reason}`}</h1>
        <a href={hrefFor(['pipeline'])}>← Pipeline health</a>
      </div>
      <p class="muted">
        The latest 200. Replay them with <code>tracklane dead-letters replay</code> once the cause is fixed.
      </p>
      <ErrorNote error={error} />
      <Loading when={loading} />
      <Card>
        {data !== undefined && data.length === 0 && (
          <p class="empty">No dead letters{reason === undefined ? '' : ' with this reason'}.</p>
        )}
        <div class="table-wrap">
          <table data-testid="dead-letters">
            <thead>
              <tr>
                <th scope="col">Failed at</th>
                <th scope="col">Stage</th>
                <th scope="col">Reason</th>
                <th scope="col">Source</th>
                <th scope="col">Payload</th>
              </tr>
            </thead>
            <tbody>
              {data?.map((d) => (
                <tr key={d.id}>
                  <td class="mono">{new Date(d.failed_at).toLocaleString()}</td>
                  <td>{d.stage}</td>
                  <td>{d.reason}</td>
                  <td class="mono">{d.source_id ?? '–'}</td>
                  <td>
                    <code class="payload">{d.payload}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
    </div>
  );
}
