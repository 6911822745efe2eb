import { useMemo } from 'preact/hooks';
import { Chart, PALETTE } from '../chart.tsx';
import { Card, ErrorNote, FiltersEditor, Loading, parseFilters } from '../components.tsx';
import { SelectParam, TextParam, useInsight } from '../insight-controls.tsx';
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

const INTERVALS = ['minute', 'hour', 'day', 'week', 'month'] as const;

export function Trends({ params, scope }: { params: URLSearchParams; scope: InsightScope }) {
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
  const { data, error, loading } = useInsight<TrendsResult>(
    '/api/trends',
    needsProperty && property === '' ? null : request,
  );

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
          <TextParam label="Event" param="event" value={event} eventList="trend-events" />
          <SelectParam label="Measure" param="measure" value={measure} options={MEASURES} />
          {needsProperty && (
            <TextParam label="Numeric property" param="property" value={property} placeholder="e.g. amount" />
          )}
          <SelectParam label="Interval" param="interval" value={interval} options={INTERVALS} />
          <TextParam
            label="Breakdown by"
            param="breakdown"
            value={breakdown}
            placeholder="property, e.g. plan"
          />
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
