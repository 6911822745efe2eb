import { RangePicker } from '../components.tsx';
import { hrefFor } from '../route.ts';
import { browserTimeZone, resolveRange } from '../time.ts';
import { Funnels } from './funnels.tsx';
import { Paths } from './paths.tsx';
import { Retention } from './retention.tsx';
import { Trends } from './trends.tsx';
import { WebOverview } from './web.tsx';

const TABS = [
  { id: 'trends', label: 'Trends' },
  { id: 'funnels', label: 'Funnels' },
  { id: 'retention', label: 'Retention' },
  { id: 'paths', label: 'Paths' },
  { id: 'web', label: 'Web analytics' },
] as const;

/** What every insight shares: the range and the zone, resolved once from the URL. */
export interface InsightScope {
  from: string;
  to: string;
  timezone: string;
  rangeLabel: string;
}

export function Insights({ tab, params }: { tab: string; params: URLSearchParams }) {
  const timezone = params.get('tz') ?? browserTimeZone();
  const range = resolveRange(params, timezone);
  const scope: InsightScope = { from: range.from, to: range.to, timezone, rangeLabel: range.label };
  // The range and zone travel with the user from tab to tab; each tab's own fields stay behind.
  const shared: Record<string, string | undefined> = {
    range: params.get('range') ?? undefined,
    from: params.get('from') ?? undefined,
    to: params.get('to') ?? undefined,
    tz: params.get('tz') ?? undefined,
  };
  return (
    <div class="view">
      <div class="view-head">
        <h1>Insights</h1>
        <RangePicker params={params} />
      </div>
      <nav class="tabs" aria-label="Insight types">
        {TABS.map((t) => (
          <a
            key={t.id}
            href={hrefFor(['insights', t.id], shared)}
            aria-current={tab === t.id ? 'page' : undefined}
          >
            {t.label}
          </a>
        ))}
      </nav>
      {tab === 'trends' && <Trends params={params} scope={scope} />}
      {tab === 'funnels' && <Funnels params={params} scope={scope} />}
      {tab === 'retention' && <Retention params={params} scope={scope} />}
      {tab === 'paths' && <Paths params={params} scope={scope} />}
      {tab === 'web' && <WebOverview scope={scope} />}
    </div>
  );
}
