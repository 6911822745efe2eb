import { Card, ErrorNote, Loading } from '../components.tsx';
import { SelectParam, TextParam, useInsight } from '../insight-controls.tsx';
import { formatNumber } from '../time.ts';
import type { InsightScope } from './insights.tsx';

interface PathsResult {
  paths: { steps: string[]; count: number; people: number }[];
}

export function Paths({ params, scope }: { params: URLSearchParams; scope: InsightScope }) {
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
  const { data, error, loading } = useInsight<PathsResult>('/api/paths', request);
  const max = Math.max(1, ...(data?.paths.map((p) => p.count) ?? [1]));
  return (
    <div class="insight">
      <Card class="controls">
        <form class="toolbar" onSubmit={(e) => e.preventDefault()} aria-label="Paths query">
          <SelectParam
            label="Paths of"
            param="kind"
            value={kind}
            options={['events', 'pages']}
            also={{ anchor: undefined }}
          />
          <SelectParam
            label="Direction"
            param="direction"
            value={direction}
            options={[
              ['next', 'what happens after'],
              ['previous', 'what happens before'],
            ]}
          />
          <TextParam
            label={kind === 'pages' ? 'Page path' : 'Event'}
            param="anchor"
            value={anchor}
            {...(kind === 'events' ? { eventList: 'paths-events' } : {})}
          />
          <SelectParam label="Steps" param="depth" value={depth} options={['1', '2', '3', '4', '5']} />
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
