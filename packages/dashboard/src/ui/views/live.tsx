import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { sqlString } from '../api.ts';
import { Chart } from '../chart.tsx';
import {
  Card,
  DraftInput,
  ErrorNote,
  EventNamesList,
  Field,
  markFirstData,
  Stat,
  useApi,
} from '../components.tsx';
import { setParams } from '../route.ts';
import { formatNumber } from '../time.ts';

const WINDOW_SECONDS = 300;
const FEED_SIZE = 100;

interface FeedEvent {
  messageId: string;
  type: string;
  event?: string;
  name?: string;
  userId?: string | null;
  anonymousId?: string | null;
  receivedAt: string;
  sourceId?: string;
  properties?: Record<string, unknown>;
  context?: { page?: { path?: string } };
}

function label(e: FeedEvent): string {
  if (e.type === 'track') return e.event ?? '(unnamed)';
  if (e.type === 'page') return '$pageview';
  return `$${e.type}`;
}

function person(e: FeedEvent): string | null {
  return e.userId ?? e.anonymousId ?? null;
}

/** Events per second (last 5 minutes), a live feed and active users, kept current by the live tail. */
export function Live({ params }: { params: URLSearchParams }) {
  const api = useApi();
  const eventFilter = params.get('event') ?? '';
  const typeFilter = params.get('type') ?? '';
  const userFilter = params.get('user') ?? '';
  const counts = useRef(new Map<number, number>());
  const persons = useRef(new Map<string, number>());
  const feedIds = useRef(new Set<string>());
  const [feed, setFeed] = useState<FeedEvent[]>([]);
  const [tick, setTick] = useState(0);
  const [status, setStatus] = useState<'connecting' | 'open' | 'retrying'>('connecting');
  const [error, setError] = useState<Error | undefined>();
  const [ready, setReady] = useState(false);

  const matches = useMemo(() => {
    const names = eventFilter
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n.length > 0);
    const user = userFilter.trim().toLowerCase();
    return (e: FeedEvent) =>
      (names.length === 0 || names.includes(label(e))) &&
      (typeFilter === '' || e.type === typeFilter) &&
      (user === '' || (person(e) ?? '').toLowerCase().includes(user));
  }, [eventFilter, typeFilter, userFilter]);

  // Counters and the stream: independent of the feed filters, so changing a filter never resets the chart.
  useEffect(() => {
    const controller = new AbortController();
    const since = new Date(Date.now() - WINDOW_SECONDS * 1000).toISOString().replace('Z', '');
    let watermark = Number.POSITIVE_INFINITY;
    const early: FeedEvent[] = [];
    const count = (e: FeedEvent) => {
      const at = Date.parse(e.receivedAt);
      const second = Math.floor(at / 1000);
      counts.current.set(second, (counts.current.get(second) ?? 0) + 1);
      const p = person(e);
      if (p !== null) persons.current.set(p, Math.max(persons.current.get(p) ?? 0, at));
    };
    const receive = (e: FeedEvent) => {
      if (Number.isFinite(watermark)) {
        if (Date.parse(e.receivedAt) > watermark) count(e);
      } else early.push(e);
      setFeed((f) => {
        if (feedIds.current.has(e.messageId)) return f;
        feedIds.current.add(e.messageId);
        const next = [e, ...f];
        if (next.length > FEED_SIZE * 3)
          for (const old of next.splice(FEED_SIZE * 3)) feedIds.current.delete(old.messageId);
        return next;
      });
    };
    // Stream first, then the backfill: events stored in between are counted once, by the watermark.
    api.stream(
      '/api/live',
      (kind, data) => {
        if (kind === 'event') receive(JSON.parse(data) as FeedEvent);
      },
      controller.signal,
      setStatus,
    );
    (async () => {
      const [perSecond, people, recent] = await Promise.all([
        api.sql<{ s: number; n: number }>(
          `SELECT CAST(floor(epoch(received_at)) AS BIGINT) AS s, count(*) AS n FROM events WHERE received_at >= TIMESTAMP ${sqlString(since)} GROUP BY s`,
          controller.signal,
        ),
        api.sql<{ p: string; t: number }>(
          `SELECT coalesce(user_id, anonymous_id) AS p, CAST(epoch_ms(max(received_at)) AS BIGINT) AS t FROM events WHERE received_at >= TIMESTAMP ${sqlString(since)} GROUP BY p`,
          controller.signal,
        ),
        api.sql<{
          message_id: string;
          type: string;
          event: string | null;
          user_id: string | null;
          anonymous_id: string | null;
          received_at: string;
          source_id: string;
          path: string | null;
        }>(
          `SELECT message_id, type, event, user_id, anonymous_id, received_at, source_id, page_path AS path FROM events ORDER BY received_at DESC LIMIT ${FEED_SIZE}`,
          controller.signal,
        ),
      ]);
      let max = 0;
      for (const r of perSecond) {
        counts.current.set(Number(r.s), (counts.current.get(Number(r.s)) ?? 0) + Number(r.n));
      }
      for (const r of people) {
        if (r.p === null) continue;
        persons.current.set(r.p, Number(r.t));
        max = Math.max(max, Number(r.t));
      }
      for (const r of recent)
        max = Math.max(max, Date.parse(r.received_at.endsWith('Z') ? r.received_at : `${r.received_at}Z`));
      watermark = max;
      for (const e of early) if (Date.parse(e.receivedAt) > watermark) count(e);
      const backfilled: FeedEvent[] = recent.map((r) => ({
        messageId: r.message_id,
        type: r.type,
        ...(r.event === null ? {} : { event: r.event }),
        userId: r.user_id,
        anonymousId: r.anonymous_id,
        receivedAt: r.received_at.endsWith('Z') ? r.received_at : `${r.received_at}Z`,
        sourceId: r.source_id,
        ...(r.path === null ? {} : { context: { page: { path: r.path } } }),
      }));
      setFeed((f) => {
        const merged = [...f];
        for (const e of backfilled) {
          if (feedIds.current.has(e.messageId)) continue;
          feedIds.current.add(e.messageId);
          merged.push(e);
        }
        return merged.sort((a, b) => Date.parse(b.receivedAt) - Date.parse(a.receivedAt));
      });
      setReady(true);
      setTick((t) => t + 1);
    })().catch((err: Error) => {
      if (!controller.signal.aborted) setError(err);
    });
    const timer = setInterval(() => setTick((t) => t + 1), 1000);
    return () => {
      controller.abort();
      clearInterval(timer);
    };
  }, [api]);

  const now = Math.floor(Date.now() / 1000);
  const { x, y, total, active } = useMemo(() => {
    const xs: number[] = [];
    const ys: number[] = [];
    let sum = 0;
    for (let s = now - WINDOW_SECONDS + 1; s <= now; s++) {
      xs.push(s);
      const n = counts.current.get(s) ?? 0;
      ys.push(n);
      sum += n;
    }
    for (const s of counts.current.keys()) if (s <= now - WINDOW_SECONDS) counts.current.delete(s);
    const cutoff = (now - WINDOW_SECONDS) * 1000;
    for (const [p, at] of persons.current) if (at < cutoff) persons.current.delete(p);
    return { x: xs, y: ys, total: sum, active: persons.current.size };
  }, [tick]);
  const series = useMemo(() => [{ label: 'events/s', values: y }], [y]);
  useEffect(() => {
    if (ready) markFirstData();
  }, [ready]);
  const lastMinute = y.slice(-60).reduce((a, b) => a + b, 0);
  const shown = feed.filter(matches).slice(0, FEED_SIZE);

  return (
    <div class="view">
      <div class="view-head">
        <h1>Live</h1>
        <span class={`live-dot ${status}`} role="status">
          {status === 'open' ? 'Streaming' : status === 'retrying' ? 'Reconnecting…' : 'Connecting…'}
        </span>
      </div>
      <ErrorNote error={error} />
      <div class="stats">
        <Stat label="Events, last 5 minutes" value={ready ? formatNumber(total) : '…'} testId="live-total" />
        <Stat
          label="Events/s, last minute"
          value={ready ? formatNumber(lastMinute / 60, 1) : '…'}
          testId="live-rate"
        />
        <Stat
          label="Active users now"
          hint="distinct people, last 5 minutes"
          value={ready ? formatNumber(active) : '…'}
          testId="live-active"
        />
      </div>
      <Card title="Events per second">
        <Chart
          x={x}
          series={series}
          kind="bars"
          height={200}
          label={`Events per second over the last 5 minutes: ${total} events`}
        />
      </Card>
      <Card title="Live events">
        <form class="toolbar" onSubmit={(e) => e.preventDefault()} aria-label="Feed filters">
          <Field label="Event">
            {(id) => (
              <>
                <DraftInput
                  id={id}
                  list="live-event-names"
                  placeholder="any event"
                  value={eventFilter}
                  onCommit={(value) => setParams({ event: value })}
                />
                <EventNamesList id="live-event-names" />
              </>
            )}
          </Field>
          <Field label="Type">
            {(id) => (
              <select id={id} value={typeFilter} onChange={(e) => setParams({ type: e.currentTarget.value })}>
                <option value="">any type</option>
                {['track', 'page', 'screen', 'identify', 'group', 'alias'].map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="User">
            {(id) => (
              <input
                id={id}
                placeholder="user or anonymous id"
                value={userFilter}
                onInput={(e) => setParams({ user: e.currentTarget.value })}
              />
            )}
          </Field>
        </form>
        <div class="table-wrap" aria-live="off">
          <table class="feed" data-testid="live-feed">
            <thead>
              <tr>
                <th scope="col">Received</th>
                <th scope="col">Event</th>
                <th scope="col">Person</th>
                <th scope="col">Page</th>
                <th scope="col">Source</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((e) => (
                <tr key={e.messageId}>
                  <td class="mono">{new Date(e.receivedAt).toLocaleTimeString()}</td>
                  <td>
                    <span class={`pill ${e.type}`}>{label(e)}</span>
                  </td>
                  <td class="mono ellipsis">{person(e) ?? '–'}</td>
                  <td class="mono ellipsis">
                    {e.context?.page?.path ?? (e.properties?.path as string | undefined) ?? ''}
                  </td>
                  <td class="mono muted">{e.sourceId ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {shown.length === 0 && (
            <p class="empty">
              {ready ? 'No events match yet. Send one and it appears here within a second.' : 'Loading…'}
            </p>
          )}
        </div>
      </Card>
    </div>
  );
}
