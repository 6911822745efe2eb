import { useEffect, useMemo } from 'preact/hooks';
import { Chart, PALETTE } from '../chart.tsx';
import {
  Card,
  DraftInput,
  ErrorNote,
  EventNamesList,
  Field,
  FiltersEditor,
  Loading,
  markFirstData,
  parseFilters,
  useApi,
  useQuery,
} from '../components.tsx';
import { setParams } from '../route.ts';
import { bucketToSeconds, formatNumber } from '../time.ts';
import type { InsightScope } from './insights.tsx';

interface TrendsResult {
  interval: string;
  measure: string;
  series: { breakdown: string | null; total: number; data: { bucket: string; value: number }[] }[];
}

const MEASURES = [
  ['count', 'Total events'],
  ['unique_users', 'Unique users'],
  ['sum', 'Sum of a property'],
  ['avg', 'Average of a property'],
] as const;

export function Trends({ params, scope }: { params: URLSearchParams; scope: InsightScope }) {
  const api = useApi();
  const event = params.get('event') ?? '$pageview';
  const measure = params.get('measure') ?? 'count';
  const interval = params.get('interval') ?? 'day';
  const property = params.get('property') ?? '';
  const breakdown = params.get('breakdown') ?? '';
  const filters = parseFilters(params.get('filters'));
  const needsProperty = measure === 'sum' || measure === 'avg';
  const request = {
    event,
    from: scope.from,
    to: scope.to,
    timezone: scope.timezone,
    interval,
    measure,
    ...(needsProperty && property !== '' ? { property } : {}),
    ...(breakdown !== '' ? { breakdown, breakdownLimit: 8 } : {}),
    ...(filters.length > 0 ? { filters } : {}),
  };
  const key = needsProperty && property === '' ? null : JSON.stringify(request);
  const { data, error, loading } = useQuery(key, (signal) =>
    api.post<TrendsResult>('/api/trends', request, signal),
  );
  useEffect(() => {
    if (data !== undefined) markFirstData();
  }, [data]);

  const chart = useMemo(() => {
    const first = data?.series[0];
    if (first === undefined) return undefined;
    return {
      x: first.data.map((d) => bucketToSeconds(d.bucket)),
      series: data!.series.map((s) => ({
        label: s.breakdown ?? (breakdown === '' ? event : '(none)'),
        values: s.data.map((d) => d.value),
      })),
    };
  }, [data]);
  const grandTotal = data?.series.reduce((n, s) => n + s.total, 0);

  return (
    <div class="insight">
      <Card class="controls">
        <form class="toolbar" onSubmit={(e) => e.preventDefault()} aria-label="Trend query">
          <Field label="Event">
            {(id) => (
              <>
                <DraftInput
                  id={id}
                  list="trend-events"
                  value={event}
                  onCommit={(value) => setParams({ event: value }, 'push')}
                />
                <EventNamesList id="trend-events" />
              </>
            )}
          </Field>
          <Field label="Measure">
            {(id) => (
              <select
                id={id}
                value={measure}
                onChange={(e) => setParams({ measure: e.currentTarget.value }, 'push')}
              >
                {MEASURES.map(([v, l]) => (
                  <option key={v} value={v}>
                    {l}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {needsProperty && (
            <Field label="Numeric property">
              {(id) => (
                <DraftInput
                  id={id}
                  placeholder="e.g. amount"
                  value={property}
                  onCommit={(value) => setParams({ property: value }, 'push')}
                />
              )}
            </Field>
          )}
          <Field label="Interval">
            {(id) => (
              <select
                id={id}
                value={interval}
                onChange={(e) => setParams({ interval: e.currentTarget.value }, 'push')}
              >
                {['minute', 'hour', 'day', 'week', 'month'].map((i) => (
                  <option key={i} value={i}>
                    {i}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Breakdown by">
            {(id) => (
              <DraftInput
                id={id}
                placeholder="property, e.g. plan"
                value={breakdown}
                onCommit={(value) => setParams({ breakdown: value }, 'push')}
              />
            )}
          </Field>
        </form>
        <FiltersEditor
          filters={filters}
          onChange={(f) => setParams({ filters: f.length > 0 ? JSON.stringify(f) : undefined }, 'push')}
        />
      </Card>
      <ErrorNote error={error} />
      {needsProperty && property === '' && (
        <p class="muted">Name the numeric property to {measure === 'sum' ? 'sum' : 'average'}.</p>
      )}
      <Card
        title={`${MEASURES.find(([m]) => m === measure)?.[1] ?? measure} of ${event}, per ${interval}`}
        actions={<Loading when={loading} />}
      >
        <div class="headline">
          <span class="headline-value" data-testid="trend-total">
            {grandTotal === undefined ? '…' : formatNumber(grandTotal, 2)}
          </span>
          <span class="muted">
            {' '}
            {scope.rangeLabel} · {scope.timezone}
          </span>
        </div>
        {chart !== undefined && (
          <Chart
            x={chart.x}
            series={chart.series}
            utcAxis
            integer={measure !== 'avg'}
            label={`Trend of ${event}`}
          />
        )}
        {data !== undefined && (
          <div class="table-wrap">
            <table data-testid="trend-table">
              <thead>
                <tr>
                  <th scope="col">{breakdown === '' ? 'Series' : breakdown}</th>
                  <th scope="col" class="num">
                    Total
                  </th>
                  <th scope="col" class="num">
                    Buckets
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.series.map((s, i) => (
                  <tr key={s.breakdown ?? '∅'}>
                    <td>
                      <span class="swatch" style={{ background: PALETTE[i % PALETTE.length] }} />
                      {s.breakdown ?? (breakdown === '' ? event : '(none)')}
                    </td>
                    <td class="num">{formatNumber(s.total, 2)}</td>
                    <td class="num">{s.data.length}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </div>
  );
}
