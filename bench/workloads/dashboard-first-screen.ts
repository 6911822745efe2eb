import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { builtDashboard } from '@tracklane/dashboard';
import { launchChromium, startTracklaneProcess } from '@tracklane/test-utils';
import type { BenchContext, BenchResult, Workload } from '../result.ts';
import { generate } from './analytics-queries.ts';

const API_KEY = 'ak_bench';
const RUNS = 5;

/**
 * Time to first meaningful paint of the dashboard's first screens in headless Chromium, on 1M stored events
 * (200k with --quick): from navigation start to the `tracklane:first-data` mark, which the app sets on the
 * frame after a view's first real numbers render. Baseline: the same view's API request alone, from Node.
 */
const workload: Workload = {
  name: 'dashboard-first-screen',
  description: 'dashboard first meaningful paint (Live, Insights) in Chromium on 1M events',
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    if (builtDashboard() === undefined)
      throw new Error('build the dashboard first: npm run build -w packages/dashboard');
    const events = ctx.quick ? 200_000 : 1_000_000;
    const dataDir = join(ctx.tmpDir, 'dashboard');
    const path = join(dataDir, 'tracklane.duckdb');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dataDir, { recursive: true });
    await generate(path, events, Math.round(events / 50), ctx);
    // The generator writes January 2026; move the month so that it ends now, so Live has recent events too.
    const instance = await DuckDBInstance.create(path);
    const db = await instance.connect();
    await db.run(`
      UPDATE events SET
        timestamp = timestamp + (now()::TIMESTAMP - (SELECT max(timestamp) FROM events)),
        received_at = received_at + (now()::TIMESTAMP - (SELECT max(received_at) FROM events))`);
    await db.run('CHECKPOINT');
    db.closeSync();
    instance.closeSync();

    const server = await startTracklaneProcess({ dataDir, apiKey: API_KEY });
    const browser = await launchChromium();
    const end = Math.ceil(Date.now() / 60_000) * 60_000;
    const trends = {
      event: 'Viewed Product',
      from: new Date(end - 30 * 86_400_000).toISOString(),
      to: new Date(end).toISOString(),
      timezone: 'UTC',
      interval: 'day',
      measure: 'count',
    };
    const screens = [
      { name: 'Live', hash: '#/live', api: () => liveBackfill(server.url) },
      {
        name: 'Insights: trends, 30 days by day',
        hash: '#/insights/trends?event=Viewed+Product&range=30d&tz=UTC',
        api: () => post(server.url, '/api/trends', trends),
      },
    ];
    const results: BenchResult[] = [];
    try {
      for (const screen of screens) {
        const paints: number[] = [];
        const domReady: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          ctx.progress(screen.name, i, RUNS);
          const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
          // Strings, not functions: this file is type-checked without the DOM library.
          await context.addInitScript(
            `sessionStorage.setItem('tracklane.apiKey', ${JSON.stringify(API_KEY)})`,
          );
          const page = await context.newPage();
          // A figure measured on a page that failed is no figure: any console error stops the run.
          const errors: string[] = [];
          page.on('console', (message) => {
            if (message.type() === 'error') errors.push(message.text());
          });
          await page.goto(`${server.url}/${screen.hash}`);
          // Arrow functions only: tsx would wrap a named inner function in a helper the page lacks.
          await page.waitForFunction(
            () => performance.getEntriesByName('tracklane:first-data').length > 0,
            null,
            {
              polling: 10,
              timeout: 30_000,
            },
          );
          const ms = await page.evaluate(
            () => performance.getEntriesByName('tracklane:first-data')[0]!.startTime,
          );
          if (errors.length > 0) throw new Error(`console errors on ${screen.name}: ${errors.join('; ')}`);
          paints.push(ms);
          domReady.push(
            Number(
              await page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"),
            ),
          );
          await context.close();
        }
        const apiTimes: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const started = performance.now();
          await screen.api();
          apiTimes.push(performance.now() - started);
        }
        const value = median(paints);
        const baseline = median(apiTimes);
        results.push({
          workload: 'dashboard-first-screen',
          name: `first meaningful paint, ${screen.name} (${events.toLocaleString('en-US')} events, median of ${RUNS})`,
          value: round(value),
          unit: 'ms',
          baseline: { name: 'its API request(s) alone, from Node', value: round(baseline) },
          ratio: round(baseline / value),
          extra: {
            'cold (first) load ms': round(paints[0]!),
            'max ms': round(Math.max(...paints)),
            'DOMContentLoaded ms': round(median(domReady)),
            'goal ms': 1000,
          },
        });
      }
    } finally {
      await browser.close();
      await server.stop();
    }
    return results;
  },
};

/** The three queries the Live view starts with. */
async function liveBackfill(url: string): Promise<void> {
  const since = new Date(Date.now() - 300_000).toISOString().replace('Z', '');
  await Promise.all([
    post(url, '/api/sql', {
      sql: `SELECT CAST(floor(epoch(received_at)) AS BIGINT) AS s, count(*) AS n FROM events WHERE received_at >= TIMESTAMP '${since}' GROUP BY s`,
    }),
    post(url, '/api/sql', {
      sql: `SELECT coalesce(user_id, anonymous_id) AS p, CAST(epoch_ms(max(received_at)) AS BIGINT) AS t FROM events WHERE received_at >= TIMESTAMP '${since}' GROUP BY p`,
    }),
    post(url, '/api/sql', {
      sql: 'SELECT message_id, type, event, user_id, anonymous_id, received_at, source_id, page_path AS path FROM events ORDER BY received_at DESC LIMIT 100',
    }),
  ]);
}

async function post(url: string, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify(body),
  });
  if (response.status !== 200)
    throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

export default workload;
