import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  chromiumMissing,
  launchChromium,
  makeTempDir,
  startTracklaneProcess,
  type TempDir,
  type TracklaneProcess,
  waitFor,
} from '@tracklane/test-utils';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { builtDashboard } from '../src/index.ts';

const skip = chromiumMissing('the dashboard tests');
const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const SCREENSHOTS = join(REPO, 'test-results', 'dashboard');

/** Seeded people: every one views a page, 20 sign up (12 free, 8 pro), 8 of those purchase. */
const PEOPLE = 30;
const SIGNED_UP = 20;
const PRO = 8;
const PURCHASED = 8;

describe('dashboard in headless Chromium against a running Tracklane', { skip }, () => {
  let dataDir: TempDir;
  let tracklane: TracklaneProcess;
  let browser: Browser;
  const problems: string[] = [];

  before(async () => {
    if (builtDashboard() === undefined) {
      const build = spawnSync('npm', ['run', 'build', '-w', 'packages/dashboard'], {
        cwd: REPO,
        stdio: 'inherit',
      });
      assert.equal(build.status, 0, 'dashboard build failed');
    }
    mkdirSync(SCREENSHOTS, { recursive: true });
    dataDir = await makeTempDir();
    tracklane = await startTracklaneProcess({
      dataDir: dataDir.path,
      writeKey: 'wk_dash',
      apiKey: 'ak_dash',
    });
    await seed();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await tracklane?.stop();
    await dataDir?.remove();
    assert.deepEqual(problems, [], 'console errors or failed requests during the tests');
  });

  async function seed(): Promise<void> {
    const batch: unknown[] = [];
    for (let i = 0; i < PEOPLE; i++) {
      const userId = `user-${i}`;
      batch.push({
        type: 'page',
        userId,
        properties: { path: i % 3 === 0 ? '/pricing' : '/' },
        context: { page: { path: i % 3 === 0 ? '/pricing' : '/', referrer: 'https://www.google.com/' } },
      });
      if (i < SIGNED_UP) {
        batch.push({
          type: 'track',
          event: 'Signed Up',
          userId,
          properties: { plan: i < PRO ? 'pro' : 'free' },
        });
      }
      if (i < PURCHASED) {
        batch.push({ type: 'track', event: 'Purchased', userId, properties: { amount: 10 } });
      }
    }
    // Returning people for the retention grid: 10 open the app three days ago, 6 of them come back the next
    // day and 3 the day after; 6 more start two days ago and 3 of those come back.
    const day = (ago: number) =>
      new Date(Math.floor(Date.now() / 86_400_000 - ago) * 86_400_000 + 43_200_000).toISOString();
    const opened = (userId: string, ago: number) =>
      batch.push({ type: 'track', event: 'Opened App', userId, timestamp: day(ago) });
    for (let i = 0; i < 10; i++) opened(`user-${i}`, 3);
    for (let i = 0; i < 6; i++) opened(`user-${i}`, 2);
    for (let i = 0; i < 3; i++) opened(`user-${i}`, 1);
    for (let i = 10; i < 16; i++) opened(`user-${i}`, 2);
    for (let i = 10; i < 13; i++) opened(`user-${i}`, 1);
    const response = await tracklane.send('/v1/batch', { batch });
    assert.equal(response.status, 200);
    await waitForStored(batch.length);
  }

  async function storedCount(): Promise<number> {
    const { rows } = await tracklane.sql('SELECT count(*) FROM events');
    return Number(rows[0]![0]);
  }

  async function waitForStored(n: number): Promise<void> {
    await waitFor(async () => (await storedCount()) >= n, { timeoutMs: 15_000, what: `${n} events stored` });
  }

  async function api<T>(path: string, body: unknown): Promise<T> {
    const response = await fetch(`${tracklane.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ak_dash' },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as T;
  }

  /** A fresh profile; every console error and failed request is recorded and fails the suite. */
  async function open(
    hash: string,
    options: { signIn?: boolean; dark?: boolean } = {},
  ): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({
      viewport: { width: 1366, height: 900 },
      colorScheme: options.dark === true ? 'dark' : 'light',
    });
    if (options.signIn !== false) {
      await context.addInitScript(() => sessionStorage.setItem('tracklane.apiKey', 'ak_dash'));
    }
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(`${tracklane.url}/${hash}`);
    return { context, page };
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  async function text(page: Page, testId: string): Promise<string> {
    return (await page.getByTestId(testId).textContent())?.trim() ?? '';
  }

  async function waitForText(page: Page, testId: string, expected: string): Promise<void> {
    await page
      .getByTestId(testId)
      .filter({ hasText: new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) })
      .waitFor({ timeout: 10_000 });
  }

  it('asks for the API key, refuses a wrong one with a clear message and shows no data without it', async () => {
    const { context, page } = await open('#/live', { signIn: false });
    await page.getByLabel('API key').fill('ak_wrong');
    // The wrong key's 401 is expected here; Chromium logs failed fetches as console errors.
    const before = problems.length;
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    await page.getByRole('alert').filter({ hasText: 'was not accepted' }).waitFor();
    problems.splice(before);
    assert.equal(await page.getByTestId('live-total').count(), 0);
    await shot(page, 'login-wrong-key');
    await page.getByLabel('API key').fill('ak_dash');
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    await waitForText(page, 'live-total', String(await storedCount()));
    await context.close();
  });

  it('live view counts stored events and adds new ones as they stream in', async () => {
    const { context, page } = await open('#/live');
    const stored = await storedCount();
    await waitForText(page, 'live-total', String(stored));
    await waitForText(page, 'live-active', String(PEOPLE));
    const batch = Array.from({ length: 5 }, (_, i) => ({
      type: 'track',
      event: 'Live Ping',
      userId: `live-${i}`,
    }));
    assert.equal((await tracklane.send('/v1/batch', { batch })).status, 200);
    await waitForText(page, 'live-total', String(stored + 5));
    await waitForText(page, 'live-active', String(PEOPLE + 5));
    // Filtering the feed by event name leaves only those rows.
    await page.getByLabel('Event', { exact: true }).fill('Live Ping');
    // The view re-renders every second; what is being typed must survive that.
    await page.waitForTimeout(1_200);
    assert.equal(await page.getByLabel('Event', { exact: true }).inputValue(), 'Live Ping');
    await page.getByLabel('Event', { exact: true }).press('Enter');
    await page.waitForFunction(() => {
      const rows = document.querySelectorAll('[data-testid="live-feed"] tbody tr');
      return rows.length === 5 && [...rows].every((r) => r.textContent?.includes('Live Ping'));
    });
    assert.match(page.url(), /event=Live\+Ping|event=Live%20Ping/);
    await shot(page, 'live');
    await context.close();
  });

  it('trends match the API, follow the interval and filter controls, and keep them in the URL', async () => {
    const to = new Date(Math.ceil(Date.now() / 86_400_000) * 86_400_000 + 86_400_000)
      .toISOString()
      .slice(0, 10);
    const from = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const { context, page } = await open(`#/insights/trends?event=Signed+Up&from=${from}&to=${to}&tz=UTC`);
    const request = {
      event: 'Signed Up',
      from: `${from}T00:00:00.000Z`,
      to: new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000).toISOString(),
      timezone: 'UTC',
    };
    type Trends = { series: { total: number; data: unknown[] }[] };
    const daily = await api<Trends>('/api/trends', { ...request, interval: 'day' });
    assert.equal(daily.series[0]!.total, SIGNED_UP);
    await waitForText(page, 'trend-total', String(SIGNED_UP));
    const buckets = () => page.locator('[data-testid="trend-table"] tbody tr td').nth(2).textContent();
    assert.equal(await buckets(), String(daily.series[0]!.data.length));

    await page.getByLabel('Interval').selectOption('hour');
    const hourly = await api<Trends>('/api/trends', { ...request, interval: 'hour' });
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="trend-table"] tbody tr td')[2]?.textContent === n,
      String(hourly.series[0]!.data.length),
    );
    assert.match(page.url(), /interval=hour/);

    await page.getByRole('button', { name: '+ Add filter' }).click();
    await page.getByLabel('filters 1 property').fill('plan');
    await page.getByLabel('filters 1 property').press('Tab');
    await page.getByLabel('filters 1 value').fill('pro');
    await page.getByLabel('filters 1 value').press('Tab');
    const filtered = await api<Trends>('/api/trends', {
      ...request,
      interval: 'hour',
      filters: [{ property: 'plan', operator: 'eq', value: 'pro' }],
    });
    assert.equal(filtered.series[0]!.total, PRO);
    await waitForText(page, 'trend-total', String(PRO));
    await page.waitForSelector('.chart canvas');
    await shot(page, 'trends');

    // Breakdown by plan: one row per plan, totals as the API gives them.
    await page.getByLabel('Breakdown by').fill('plan');
    await page.getByLabel('Breakdown by').press('Enter');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="trend-table"] tbody tr').length === 1,
    );
    await context.close();
  });

  it('funnel shows conversion per step and grows when a step is added', async () => {
    const steps = encodeURIComponent(JSON.stringify(['$pageview', 'Signed Up']));
    const { context, page } = await open(`#/insights/funnels?steps=${steps}&range=24h&tz=UTC`);
    await waitForText(page, 'funnel-count-0', String(PEOPLE));
    await waitForText(page, 'funnel-count-1', String(SIGNED_UP));
    await waitForText(page, 'funnel-rate-1', `${Math.round((SIGNED_UP / PEOPLE) * 1000) / 10}%`);
    await page.getByRole('button', { name: '+ Add step' }).click();
    await page.getByLabel('Step 3', { exact: true }).fill('Purchased');
    await page.getByRole('button', { name: 'Update funnel' }).click();
    await waitForText(page, 'funnel-count-2', String(PURCHASED));
    assert.match(decodeURIComponent(page.url()), /"Purchased"/);
    await shot(page, 'funnel');
    await context.close();
  });

  it('retention, paths and web analytics render what the API answers', async () => {
    const { context, page } = await open(
      '#/insights/retention?range=7d&tz=UTC&period=day&start=Opened+App&return=Opened+App',
    );
    const firstCohort = page.locator('[data-testid="retention"] tbody tr').first();
    await firstCohort.waitFor();
    assert.deepEqual((await firstCohort.locator('td').allTextContents()).slice(0, 4), [
      '10',
      '100%',
      '60%',
      '30%',
    ]);
    const second = page.locator('[data-testid="retention"] tbody tr').nth(1);
    assert.deepEqual((await second.locator('td').allTextContents()).slice(0, 3), ['6', '100%', '50%']);
    await shot(page, 'retention');
    await page.getByRole('link', { name: 'Paths' }).click();
    await page.locator('[data-testid="paths"] li').first().waitFor();
    await shot(page, 'paths');
    await page.getByRole('link', { name: 'Web analytics' }).click();
    await waitForText(page, 'web-pageviews', String(PEOPLE));
    assert.match(page.url(), /range=7d/);
    const visitors = Number((await text(page, 'web-visitors')).replace(/,/g, ''));
    const sessions = Number((await text(page, 'web-sessions')).replace(/,/g, ''));
    const now = Math.ceil(Date.now() / 60_000) * 60_000;
    const web = await api<{ visitors: number; sessions: number; pageviews: number }>('/api/web-stats', {
      from: new Date(now - 7 * 86_400_000).toISOString(),
      to: new Date(now).toISOString(),
      timezone: 'UTC',
      limit: 10,
    });
    assert.deepEqual({ visitors, sessions }, { visitors: web.visitors, sessions: web.sessions });
    assert.equal(web.pageviews, PEOPLE);
    await shot(page, 'web');
    await context.close();
  });

  it('pipeline health shows counts, lag and rejections, and clicks through to the dead letters', async () => {
    const bad = await tracklane.send('/v1/batch', {
      batch: [
        { type: 'track', event: 'Fine', userId: 'x' },
        { type: 'bogus', userId: 'x' },
      ],
    });
    assert.equal(bad.status, 200);
    await waitFor(
      async () => Number((await tracklane.sql('SELECT count(*) FROM dead_letters')).rows[0]![0]) >= 1,
      { timeoutMs: 10_000, what: 'dead letter stored' },
    );
    const { context, page } = await open('#/pipeline', { dark: true });
    await waitForText(page, 'pipeline-accepted', String(await storedCount()));
    await waitForText(page, 'pipeline-rejected', '1');
    await page.getByTestId('pipeline-groups').getByText('storage').waitFor();
    await page.getByTestId('dead-letter-reasons').getByRole('link').first().waitFor();
    await shot(page, 'pipeline-dark');
    await page.getByTestId('dead-letter-reasons').getByRole('link').first().click();
    await page.locator('[data-testid="dead-letters"] tbody tr').first().waitFor();
    assert.match(page.url(), /#\/pipeline\/dead-letters\?reason=/);
    await shot(page, 'dead-letters-dark');
    await context.close();
  });

  it('creates a write key shown once that works at once, and revokes it', async () => {
    const { context, page } = await open('#/sources');
    await page.getByTestId('sources').getByText('from config').waitFor();
    await page.getByLabel('New source name').fill('Marketing site');
    await page.getByRole('button', { name: 'Create write key' }).click();
    const key = await text(page, 'new-write-key');
    assert.match(key, /^wk_/);
    const basic = `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
    const post = () =>
      fetch(`${tracklane.url}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: basic },
        body: JSON.stringify({ batch: [{ type: 'track', event: 'From New Key', userId: 'k' }] }),
      });
    assert.equal((await post()).status, 200);
    const listed = await (
      await fetch(`${tracklane.url}/api/sources`, { headers: { authorization: 'Bearer ak_dash' } })
    ).text();
    assert.ok(!listed.includes(key), 'the list never shows a full key');
    await shot(page, 'sources');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Revoke Marketing site' }).click();
    await page.getByRole('button', { name: 'Revoke Marketing site' }).waitFor({ state: 'detached' });
    assert.equal((await post()).status, 401);
    await context.close();
  });
});
