import { useEffect } from 'preact/hooks';
import {
  Card,
  DraftInput,
  ErrorNote,
  EventNamesList,
  Field,
  Loading,
  markFirstData,
  useApi,
  useQuery,
} from '../components.tsx';
import { setParams } from '../route.ts';
import { formatNumber } from '../time.ts';
import type { InsightScope } from './insights.tsx';

interface PathsResult {
  paths: { steps: string[]; count: number; people: number }[];
}

export function Paths({ params, scope }: { params: URLSearchParams; scope: InsightScope }) {
  const api = useApi();
  const kind = params.get('kind') ?? 'events';
  const anchor = params.get('anchor') ?? (kind === 'pages' ? '/' : '$pageview');
  const direction = params.get('direction') ?? 'next';
  const depth = Number(params.get('depth') ?? 2);
  const request = {
    anchor,
    kind,
    direction,
    depth,
    limit: 20,
    from: scope.from,
    to: scope.to,
    timezone: scope.timezone,
  };
  const { data, error, loading } = useQuery(JSON.stringify(request), (signal) =>
    api.post<PathsResult>('/api/paths', request, signal),
  );
  useEffect(() => {
    if (data !== undefined) markFirstData();
  }, [data]);
  const max = Math.max(1, ...(data?.paths.map((p) => p.count) ?? [1]));
  return (
    <div class="insight">
      <Card class="controls">
        <form class="toolbar" onSubmit={(e) => e.preventDefault()} aria-label="Paths query">
          <Field label="Paths of">
            {(id) => (
              <select
                id={id}
                value={kind}
                onChange={(e) => setParams({ kind: e.currentTarget.value, anchor: undefined }, 'push')}
              >
                <option value="events">events</option>
                <option value="pages">pages</option>
              </select>
            )}
          </Field>
          <Field label="Direction">
            {(id) => (
              <select
                id={id}
                value={direction}
                onChange={(e) => setParams({ direction: e.currentTarget.value }, 'push')}
              >
                <option value="next">what happens after</option>
                <option value="previous">what happens before</option>
              </select>
            )}
          </Field>
          <Field label={kind === 'pages' ? 'Page path' : 'Event'}>
            {(id) => (
              <>
                <DraftInput
                  id={id}
                  list={kind === 'events' ? 'paths-events' : undefined}
                  value={anchor}
                  onCommit={(value) => setParams({ anchor: value }, 'push')}
                />
                {kind === 'events' && <EventNamesList id="paths-events" />}
              </>
            )}
          </Field>
          <Field label="Steps">
            {(id) => (
              <select
                id={id}
                value={String(depth)}
                onChange={(e) => setParams({ depth: e.currentTarget.value }, 'push')}
              >
                {[1, 2, 3, 4, 5].map((d) => (
                  <option key={d} value={String(d)}>
                    {d}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </form>
      </Card>
      <ErrorNote error={error} />
      <Card
        title={`Most common paths ${direction === 'next' ? 'after' : 'before'} ${anchor}`}
        actions={<Loading when={loading} />}
      >
        {data !== undefined && data.paths.length === 0 && <p class="empty">No paths in this range.</p>}
        <ol class="paths" data-testid="paths">
          {data?.paths.map((p) => (
            <li key={p.steps.join('→')}>
              <div class="path-steps">
                <span class="chip anchor">{anchor}</span>
                {p.steps.slice(0, p.steps.indexOf('$end') + 1 || undefined).map((s, i) => (
                  <span key={i} class={`chip ${s === '$end' ? 'end' : ''}`}>
                    {direction === 'next' ? '→ ' : '← '}
                    {s === '$end' ? 'session ends' : s}
                  </span>
                ))}
              </div>
              <div class="path-bar" style={{ width: `${(p.count / max) * 100}%` }} />
              <div class="muted">
                {formatNumber(p.count)} times · {formatNumber(p.people)} people
              </div>
            </li>
          ))}
        </ol>
      </Card>
    </div>
  );
}
