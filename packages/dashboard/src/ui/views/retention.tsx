import { Card, ErrorNote, Loading } from '../components.tsx';
import { SelectParam, TextParam, useInsight } from '../insight-controls.tsx';
import { formatNumber, formatPercent } from '../time.ts';
import type { InsightScope } from './insights.tsx';

interface RetentionResult {
  period: string;
  cohorts: { cohort: string; size: number; values: number[] }[];
}

export function Retention({ params, scope }: { params: URLSearchParams; scope: InsightScope }) {
  const startEvent = params.get('start') ?? '$pageview';
  const returnEvent = params.get('return') ?? '$pageview';
  const period = params.get('period') ?? 'day';
  const request = {
    startEvent,
    returnEvent,
    period,
    from: scope.from,
    to: scope.to,
    timezone: scope.timezone,
  };
  const { data, error, loading } = useInsight<RetentionResult>('/api/retention', request);
  const periods = Math.max(0, ...(data?.cohorts.map((c) => c.values.length) ?? [0]));

  return (
    <div class="insight">
      <Card class="controls">
        <form class="toolbar" onSubmit={(e) => e.preventDefault()} aria-label="Retention query">
          <TextParam
            label="Cohort: first time doing"
            param="start"
            value={startEvent}
            eventList="retention-start-events"
          />
          <TextParam
            label="Came back to do"
            param="return"
            value={returnEvent}
            eventList="retention-return-events"
          />
          <SelectParam label="Period" param="period" value={period} options={['day', 'week', 'month']} />
        </form>
      </Card>
      <ErrorNote error={error} />
      <Card title="Retention by cohort" actions={<Loading when={loading} />}>
        {data !== undefined && data.cohorts.length === 0 && <p class="empty">No cohorts in this range.</p>}
        {data !== undefined && data.cohorts.length > 0 && (
          <div class="table-wrap">
            <table class="retention" data-testid="retention">
              <thead>
                <tr>
                  <th scope="col">Cohort</th>
                  <th scope="col" class="num">
                    People
                  </th>
                  {Array.from({ length: periods }, (_, k) => (
                    <th scope="col" key={k} class="num">
                      {period} {k}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.cohorts.map((c) => (
                  <tr key={c.cohort}>
                    <th scope="row">{c.cohort.slice(0, period === 'month' ? 7 : 10)}</th>
                    <td class="num">{formatNumber(c.size)}</td>
                    {Array.from({ length: periods }, (_, k) => {
                      const v = c.values[k];
                      if (v === undefined) return <td key={k} class="heat none" />;
                      const ratio = c.size === 0 ? 0 : v / c.size;
                      // Heat as the accent mixed in by the share retained; text colour flips for contrast.
                      return (
                        <td
                          key={k}
                          class={`heat num ${ratio > 0.7 ? 'strong' : ''}`}
                          style={{ '--heat': `${Math.round(ratio * 100)}%` }}
                          title={`${formatNumber(v)} of ${formatNumber(c.size)}`}
                        >
                          {formatPercent(ratio)}
                        </td>
                      );
                    })}
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
