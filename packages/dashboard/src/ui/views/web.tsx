import { useEffect } from 'preact/hooks';
import { BarList, Card, ErrorNote, Loading, markFirstData, Stat, useApi, useQuery } from '../components.tsx';
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

const ranked = (rows: Ranked[]) =>
  rows.map((r) => ({
    label: r.value === '$direct' ? 'Direct / none' : r.value,
    value: r.sessions,
    extra: `· ${formatNumber(r.visitors)} visitors`,
  }));

export function WebOverview({ scope }: { scope: InsightScope }) {
  const api = useApi();
  const request = { from: scope.from, to: scope.to, timezone: scope.timezone, limit: 10 };
  const { data, error, loading } = useQuery(JSON.stringify(request), (signal) =>
    api.post<WebStats>('/api/web-stats', request, signal),
  );
  useEffect(() => {
    if (data !== undefined) markFirstData();
  }, [data]);
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
          <Card title="Entry pages">
            <BarList labelHeader="Page" valueLabel="Sessions" rows={ranked(data.entryPages)} />
          </Card>
          <Card title="Referrers">
            <BarList labelHeader="Referrer" valueLabel="Sessions" rows={ranked(data.referrers)} />
          </Card>
          <Card title="UTM sources">
            <BarList labelHeader="utm_source" valueLabel="Sessions" rows={ranked(data.utmSources)} />
          </Card>
          <Card title="UTM mediums">
            <BarList labelHeader="utm_medium" valueLabel="Sessions" rows={ranked(data.utmMediums)} />
          </Card>
          <Card title="UTM campaigns">
            <BarList labelHeader="utm_campaign" valueLabel="Sessions" rows={ranked(data.utmCampaigns)} />
          </Card>
          <Card title="Devices">
            <BarList labelHeader="Device" valueLabel="Sessions" rows={ranked(data.devices)} />
          </Card>
          <Card title="Browsers">
            <BarList labelHeader="Browser" valueLabel="Sessions" rows={ranked(data.browsers)} />
          </Card>
          <Card title="Operating systems">
            <BarList labelHeader="OS" valueLabel="Sessions" rows={ranked(data.os)} />
          </Card>
          <Card title="Countries">
            <BarList labelHeader="Country" valueLabel="Sessions" rows={ranked(data.countries)} />
          </Card>
        </div>
      )}
    </div>
  );
}
