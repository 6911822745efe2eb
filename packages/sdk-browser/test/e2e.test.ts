import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoAssets } from '@tracklane/demo';
import {
  chromiumMissing,
  freePort,
  launchChromium,
  makeTempDir,
  type TempDir,
  type TracklaneService,
  tracklaneService,
  waitFor,
} from '@tracklane/test-utils';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { staticSite } from './static-site.ts';

const skip = chromiumMissing('the browser E2E tests');

interface Row {
  message_id: string;
  type: string;
  event: string | null;
  name: string | null;
  anonymous_id: string | null;
  user_id: string | null;
  properties: Record<string, unknown> | null;
  context: Record<string, unknown> | null;
}

const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);

describe('browser SDK in headless Chromium against a running Tracklane', { skip }, () => {
  let dataDir: TempDir;
  let tracklane: TracklaneService;
  let site: Awaited<ReturnType<typeof staticSite>>;
  let browser: Browser;
  const fastOptions = { flushInterval: 300, retry: { minMs: 100, maxMs: 1000 } };
  const config = {
    current: { writeKey: 'wk_e2e', host: '', ...fastOptions } as { writeKey: string } & Record<
      string,
      unknown
    >,
  };

  before(async () => {
    dataDir = await makeTempDir();
    tracklane = tracklaneService({
      port: await freePort(),
      dataDir: dataDir.path,
      writeKey: 'wk_e2e',
      apiKey: 'ak_e2e',
    });
    const [{ dir }] = await Promise.all([demoAssets(), tracklane.start()]);
    config.current.host = tracklane.url;
    site = await staticSite(dir, config);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await site?.close();
    await tracklane?.stop();
    await dataDir?.remove();
  });

  /** A fresh profile per test: its own localStorage, cookies and anonymous id. */
  async function open(path: string): Promise<{ context: BrowserContext; page: Page; anonymousId: string }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e));
    await page.goto(`${site.url}/${path}`);
    const anonymousId = await page.evaluate(() => (window as unknown as Demo).tracklane.user()!.anonymousId);
    return { context, page, anonymousId };
  }

  async function rowsFor(anonymousId: string): Promise<Row[]> {
    const rows = await tracklane.sql<Row>(
      `select message_id, type, event, name, anonymous_id, user_id, properties, context from events
       where anonymous_id = '${anonymousId}' order by timestamp, received_at`,
    );
    return rows.map((r) => ({ ...r, properties: json(r.properties), context: json(r.context) }));
  }

  async function waitForRows(anonymousId: string, count: number, what: string): Promise<Row[]> {
    return waitFor(
      async () => {
        const rows = await rowsFor(anonymousId);
        return rows.length >= count && rows;
      },
      { timeoutMs: 20_000, intervalMs: 200, what },
    );
  }

  it('records page views, clicks, SPA navigation and form submits with the right fields', async () => {
    const { context, page, anonymousId } = await open('index.html');
    await page.click('#cta');
    await page.click('#nav-pricing');
    await page.waitForURL(/pricing/);
    await page.click('#plan-pro');
    await page.goto(`${site.url}/signup.html`);
    await page.fill('#email', 'secret@example.com');
    await page.fill('#name', 'Ada Secret');
    await page.check('#terms');
    await page.click('#signup-submit');
    await page.waitForURL(/welcome/);
    await page.goto(`${site.url}/app.html`);
    await page.click('#tab-reports');
    await page.click('#tab-settings');
    await page.click('#tab-help');
    await page.goBack();

    // index, cta, nav click, pricing, plan, signup, submit click, form, welcome, identify, app, 2 tab clicks,
    // 2 SPA views, help click, hash view, back view = 18
    const rows = await waitForRows(anonymousId, 18, 'all demo events');
    const userId = rows.find((r) => r.type === 'identify')?.user_id;
    assert.match(userId ?? '', /^demo-user-/);

    const cta = rows.find((r) => r.event === 'CTA Clicked')!;
    assert.equal(cta.type, 'track');
    assert.deepEqual(
      { ...cta.properties },
      { tag: 'button', id: 'cta', text: 'Get started', selector: '#cta', location: 'hero' },
    );
    assert.equal((cta.context!.library as { name: string }).name, '@tracklane/browser');
    assert.match(String(cta.context?.sessionId), /^[0-9a-f-]{36}$/);
    assert.equal((cta.context!.page as { path: string }).path, '/index.html');

    const nav = rows.find((r) => r.event === 'Element Clicked' && r.properties?.id === 'nav-pricing')!;
    assert.equal(nav.properties?.href, `${site.url}/pricing.html`);
    assert.equal(nav.properties?.text, 'Pricing');

    assert.equal(rows.find((r) => r.event === 'Plan Selected')?.properties?.plan, 'pro');

    const form = rows.find((r) => r.event === 'Signed Up')!;
    assert.deepEqual(
      { ...form.properties },
      {
        id: 'signup-form',
        name: 'signup',
        action: 'welcome.html',
        method: 'post',
        selector: '#signup-form',
        fieldCount: 4,
      },
    );
    // Nowhere: not in properties, not in context, not in a captured URL.
    const everything = JSON.stringify(rows);
    assert.ok(
      !everything.includes('secret@example.com') && !everything.includes('Ada Secret'),
      'no field values',
    );

    const views = rows
      .filter((r) => r.type === 'page')
      .map((r) => `${r.properties?.path}${r.properties?.search}`);
    assert.deepEqual(views, [
      '/index.html',
      '/pricing.html',
      '/signup.html',
      '/welcome.html',
      '/app.html',
      '/app.html?route=%2Freports',
      '/app.html?route=%2Fsettings',
      '/app.html?route=%2Fsettings',
      '/app.html?route=%2Fsettings',
    ]);
    const urls = rows.filter((r) => r.type === 'page').map((r) => String(r.properties?.url));
    assert.ok(urls[7]!.endsWith('#help') && !urls[8]!.endsWith('#help'), 'hash change and back are views');
    // Events after identify carry the user id; one session across pages.
    assert.equal(rows.at(-1)?.user_id, userId);
    assert.equal(new Set(rows.map((r) => r.context?.sessionId)).size, 1);
    await context.close();
  });

  it('delivers events queued while the collector was down exactly once after it restarts', async () => {
    const { context, page, anonymousId } = await open('index.html');
    await waitForRows(anonymousId, 1, 'first page view');
    await tracklane.stop();
    await page.click('#cta');
    await page.click('#custom');
    // A reload while offline: the next page adopts the stored queue.
    await page.reload();
    await page.click('#custom');
    const queued = await page.evaluate(
      () => JSON.parse(localStorage.getItem('tl_queue_wk_e2e') ?? '[]').length,
    );
    assert.ok(queued >= 4, `expected >= 4 events in the stored queue, found ${queued}`);
    await tracklane.start();

    // page view, cta, custom (a click and its own event), reload's page view, custom again = 7
    const rows = await waitForRows(anonymousId, 7, 'queued events after restart');
    await page.waitForFunction(() => localStorage.getItem('tl_queue_wk_e2e') === '[]', null, {
      timeout: 10_000,
    });
    await new Promise((r) => setTimeout(r, 1000));
    const final = await rowsFor(anonymousId);
    assert.equal(final.length, 7, JSON.stringify(final.map((r) => r.event ?? r.type)));
    assert.equal(new Set(final.map((r) => r.message_id)).size, 7);
    // Sorted: a click's autocaptured event and the page's own track can share a millisecond timestamp.
    assert.deepEqual(rows.map((r) => r.event ?? r.type).sort(), [
      'CTA Clicked',
      'Custom Event',
      'Custom Event',
      'Element Clicked',
      'Element Clicked',
      'page',
      'page',
    ]);
    await context.close();
  });

  it('delivers a click made right before navigating away to another site', async () => {
    config.current = { ...config.current, flushInterval: 60_000 };
    try {
      const { context, page, anonymousId } = await open('index.html');
      await context.route('https://example.com/**', (route) =>
        route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>elsewhere</h1>' }),
      );
      await page.click('#external');
      await page.waitForURL('https://example.com/');
      const rows = await waitForRows(anonymousId, 2, 'the outbound click');
      assert.deepEqual(
        rows.map((r) => r.event ?? r.type),
        ['page', 'Outbound Link'],
      );
      await context.close();
    } finally {
      config.current = { ...config.current, ...fastOptions };
    }
  });

  it('reports web vitals once, when the page hides, if enabled', async () => {
    config.current = { ...config.current, autocapture: { webVitals: true } };
    try {
      const { context, page, anonymousId } = await open('index.html');
      await page.click('#cta');
      await page.click('#nav-pricing');
      const rows = await waitForRows(anonymousId, 5, 'web vitals');
      const vitals = rows.filter((r) => r.event === 'Web Vitals');
      assert.equal(vitals.length, 1);
      assert.equal(typeof vitals[0]?.properties?.ttfb, 'number');
      assert.equal(typeof vitals[0]?.properties?.fcp, 'number');
      await context.close();
    } finally {
      const { autocapture: _, ...rest } = config.current;
      config.current = rest as typeof config.current;
    }
  });

  it('holds events while consent is pending and sends them once granted', async () => {
    const { context, page, anonymousId } = await open('index.html?consent=pending');
    await page.click('#cta');
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(await rowsFor(anonymousId), []);
    assert.deepEqual(await storedKeys(page), [], 'nothing written to the device before consent');
    await page.click('#consent-accept');
    const rows = await waitForRows(anonymousId, 3, 'events held until consent');
    assert.deepEqual(
      rows.map((r) => r.event ?? r.type),
      ['page', 'CTA Clicked', 'Element Clicked'],
    );
    assert.ok((await storedKeys(page)).includes('tl_aid'));
    await context.close();
  });

  it('drops events and erases stored identity when consent is denied', async () => {
    const { context, page, anonymousId } = await open('index.html?consent=pending');
    await page.click('#cta');
    await page.click('#consent-decline');
    await page.click('#custom');
    await page.goto(`${site.url}/pricing.html?consent=denied`);
    await page.click('#plan-free');
    const deniedId = await page.evaluate(() => (window as unknown as Demo).tracklane.user()!.anonymousId);
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await rowsFor(anonymousId), []);
    assert.deepEqual(await rowsFor(deniedId), []);
    assert.deepEqual(await storedKeys(page), []);
    await context.close();
  });
});

interface Demo {
  tracklane: { user(): { anonymousId: string } | undefined };
}

function storedKeys(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Object.keys(localStorage)
      .filter((k) => k.startsWith('tl_'))
      .concat(document.cookie ? document.cookie.split('; ').map((c) => c.split('=')[0]!) : [])
      .filter((k) => k.startsWith('tl_')),
  );
}
