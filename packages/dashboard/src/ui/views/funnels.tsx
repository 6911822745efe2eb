import { useEffect, useState } from 'preact/hooks';
import { Card, ErrorNote, EventNamesList, FiltersEditor, Loading, parseFilters } from '../components.tsx';
import { SelectParam, useInsight } from '../insight-controls.tsx';
import { setParams } from '../route.ts';
import { formatNumber, formatPercent } from '../time.ts';
import type { InsightScope } from './insights.tsx';

interface FunnelResult {
  breakdowns: {
    breakdown: string | null;
    steps: {
      event: string;
      count: number;
      conversionRate: number;
      stepConversionRate: number;
      medianSecondsFromPrevious: number | null;
    }[];
  }[];
}

function parseSteps(text: string | null): string[] {
  try {
    const parsed = JSON.parse(text ?? '') as unknown;
    if (Array.isArray(parsed) && parsed.every((s) => typeof s === 'string')) return parsed as string[];
  } catch {
    // Fall through to the default funnel.
  }
  return ['$pageview', ''];
}

const WINDOWS = [
  [3600, '1 hour'],
  [86_400, '1 day'],
  [7 * 86_400, '7 days'],
  [14 * 86_400, '14 days'],
  [30 * 86_400, '30 days'],
] as const;

function seconds(s: number | null): string {
  if (s === null) return '';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 129_600) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

export function Funnels({ params, scope }: { params: URLSearchParams; scope: InsightScope }) {
  const urlSteps = parseSteps(params.get('steps'));
  const [steps, setSteps] = useState(urlSteps);
  useEffect(() => setSteps(urlSteps), [params.get('steps')]);
  const order = params.get('order') ?? 'ordered';
  const windowSeconds = Number(params.get('window') ?? 14 * 86_400);
  const filters = parseFilters(params.get('filters'));
  const chosen = urlSteps.filter((s) => s.trim().length > 0);
  const saveSteps = (next: string[]) => setParams({ steps: JSON.stringify(next) }, 'push');
  const request = {
    steps: chosen.map((event) => ({ event })),
    from: scope.from,
    to: scope.to,
    timezone: scope.timezone,
    order,
    conversionWindowSeconds: windowSeconds,
    ...(filters.length > 0 ? { filters } : {}),
  };
  const { data, error, loading } = useInsight<FunnelResult>(
    '/api/funnels',
    chosen.length >= 2 ? request : null,
  );
  const result = data?.breakdowns[0]?.steps ?? [];
  const top = result[0]?.count ?? 0;

  return (
    <div class="insight">
      <Card class="controls">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            saveSteps(steps);
          }}
          aria-label="Funnel steps"
        >
          <EventNamesList id="funnel-events" />
          <ol class="steps">
            {steps.map((s, i) => (
              <li key={i}>
                <label for={`funnel-step-${i}`}>Step {i + 1}</label>
                <input
                  id={`funnel-step-${i}`}
                  list="funnel-events"
                  value={s}
                  placeholder="event name"
                  onInput={(e) => {
                    const value = e.currentTarget.value;
                    setSteps((cur) => cur.map((x, j) => (j === i ? value : x)));
                  }}
                  onChange={(e) => {
                    const value = e.currentTarget.value;
                    saveSteps(steps.map((x, j) => (j === i ? value : x)));
                  }}
                />
                {steps.length > 2 && (
                  <button
                    type="button"
                    class="icon"
                    aria-label={`Remove step ${i + 1}`}
                    onClick={() => saveSteps(steps.filter((_, j) => j !== i))}
                  >
                    ×
                  </button>
                )}
              </li>
            ))}
          </ol>
          <div class="toolbar">
            <button
              type="button"
              class="ghost"
              disabled={steps.length >= 10}
              onClick={() => {
                setSteps([...steps, '']);
                // Keyboard users land in the new step, not back at the top of the form.
                requestAnimationFrame(() => document.getElementById(`funnel-step-${steps.length}`)?.focus());
              }}
            >
              + Add step
            </button>
            <SelectParam
              label="Order"
              param="order"
              value={order}
              options={[
                ['ordered', 'In order'],
                ['strict', 'Strictly consecutive'],
                ['any', 'Any order'],
              ]}
            />
            <SelectParam label="Conversion window" param="window" value={windowSeconds} options={WINDOWS} />
            <button type="submit" class="primary">
              Update funnel
            </button>
          </div>
        </form>
        <FiltersEditor
          filters={filters}
          onChange={(f) => setParams({ filters: f.length > 0 ? JSON.stringify(f) : undefined }, 'push')}
        />
      </Card>
      <ErrorNote error={error} />
      {chosen.length < 2 && <p class="muted">Choose at least two steps.</p>}
      <Card title="Conversion" actions={<Loading when={loading} />}>
        {data !== undefined && top === 0 && <p class="empty">Nobody did the first step in this range.</p>}
        <ol class="funnel" data-testid="funnel">
          {result.map((step, i) => (
            <li key={`${i}-${step.event}`} class="funnel-step">
              <div class="funnel-label">
                <span class="step-no">{i + 1}</span> <strong>{step.event}</strong>
                {step.medianSecondsFromPrevious !== null && (
                  <span class="muted">
                    {' '}
                    · median {seconds(step.medianSecondsFromPrevious)} after previous
                  </span>
                )}
              </div>
              <div class="funnel-track" role="presentation">
                <div class="funnel-bar" style={{ width: `${top === 0 ? 0 : (step.count / top) * 100}%` }} />
              </div>
              <div class="funnel-numbers">
                <span data-testid={`funnel-count-${i}`}>{formatNumber(step.count)}</span> people ·{' '}
                <span data-testid={`funnel-rate-${i}`}>{formatPercent(step.conversionRate)}</span>
                {i > 0 && (
                  <span class="muted">
                    {' '}
                    ({formatPercent(step.stepConversionRate)} of step {i})
                  </span>
                )}
              </div>
            </li>
          ))}
        </ol>
      </Card>
    </div>
  );
}
