import { BarList, Card, ErrorNote, Loading, Stat } from '../components.tsx';
import { useInsight } from '../insight-controls.tsx';
import { formatDuration, formatNumber, formatPercent } from '../time.ts';
import type { InsightScope } from './insights.tsx';

interface Ranked {
  value: string;
  sessions: number;
  visitors: number;
}

interface WebStats {
  visitors: number;
  sessions: number;
  pageviews: number;
  bounceRate: number;
  avgSessionSeconds: number;
  topPages: { path: string; pageviews: number; visitors: number }[];
  entryPages: Ranked[];
  referrers: Ranked[];
  utmSources: Ranked[];
  utmMediums: Ranked[];
  utmCampaigns: Ranked[];
  devices: Ranked[];
  browsers: Ranked[];
  os: Ranked[];
  countries: Ranked[];
}

type RankedField = { [K in keyof WebStats]: WebStats[K] extends Ranked[] ? K : never }[keyof WebStats];

const ranked = (rows: Ranked[]) =>
  rows.map((r) => ({
    label: r.value === '$direct' ? 'Direct / none' : r.value,
    value: r.sessions,
    extra: `· ${formatNumber(r.visitors)} visitors`,
  }));

/** The per-session breakdowns: card title, label column, field of the answer. */
const RANKED_CARDS: readonly (readonly [string, string, RankedField])[] = [
  ['Entry pages', 'Page', 'entryPages'],
  ['Referrers', 'Referrer', 'referrers'],
  ['UTM sources', 'utm_source', 'utmSources'],
  ['UTM mediums', 'utm_medium', 'utmMediums'],
  ['UTM campaigns', 'utm_campaign', 'utmCampaigns'],
  ['Devices', 'Device', 'devices'],
  ['Browsers', 'Browser', 'browsers'],
  ['Operating systems', 'OS', 'os'],
  ['Countries', 'Country', 'countries'],
];

export function WebOverview({ scope }: { scope: InsightScope }) {
  const request = { from: scope.from, to: scope.to, timezone: scope.timezone, limit: 10 };
  const { data, error, loading } = useInsight<WebStats>('/api/web-stats', request);
  return (
    <div class="insight">
      <ErrorNote error={error} />
      <div class="stats">
        <Stat label="Visitors" value={formatNumber(data?.visitors)} testId="web-visitors" />
        <Stat label="Sessions" value={formatNumber(data?.sessions)} testId="web-sessions" />
        <Stat label="Pageviews" value={formatNumber(data?.pageviews)} testId="web-pageviews" />
        <Stat label="Bounce rate" value={formatPercent(data?.bounceRate)} testId="web-bounce" />
        <Stat
          label="Avg. session"
          value={formatDuration(data === undefined ? null : data.avgSessionSeconds * 1000)}
        />
      </div>
      <Loading when={loading} />
      {data !== undefined && (
        <div class="grid">
          <Card title="Top pages">
            <BarList
              labelHeader="Page"
              valueLabel="Pageviews"
              testId="web-top-pages"
              rows={data.topPages.map((p) => ({
                label: p.path,
                value: p.pageviews,
                extra: `· ${formatNumber(p.visitors)} visitors`,
              }))}
            />
          </Card>
          {RANKED_CARDS.map(([title, labelHeader, field]) => (
            <Card key={field} title={title}>
              <BarList labelHeader={labelHeader} valueLabel="Sessions" rows={ranked(data[field])} />
            </Card>
          ))}
        </div>
      )}
    </div>
  );
}
