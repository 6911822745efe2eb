import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Analytics } from '@segment/analytics-node';
import {
  buildPageView,
  buildSelfDescribingEvent,
  buildStructEvent,
  newTracker,
} from '@snowplow/node-tracker';
import {
  makeTempDir,
  startTracklaneProcess,
  type TempDir,
  type TracklaneProcess,
  waitFor,
} from '@tracklane/test-utils';
import { PostHog } from 'posthog-node';

type Row = unknown[];

describe('official tracking clients against a running collector', () => {
  let dir: TempDir;
  let server: TracklaneProcess;
  before(async () => {
    dir = await makeTempDir();
    server = await startTracklaneProcess({ dataDir: dir.path });
  });
  after(async () => {
    await server.stop();
    await dir.remove();
  });

  async function rowsFor(where: string, count: number): Promise<Row[]> {
    return waitFor(
      async () => {
        const { rows } = await server.sql(
          `SELECT type, event, name, user_id, anonymous_id, group_id, previous_id, message_id,
                  strftime(timestamp, '%Y-%m-%dT%H:%M:%S'), properties, traits, context
           FROM events WHERE ${where} ORDER BY timestamp, type`,
        );
        return rows.length >= count ? rows : undefined;
      },
      { timeoutMs: 20_000, what: `${count} events where ${where}` },
    );
  }

  it('stores what @segment/analytics-node sends, with ids, properties and timestamps', async () => {
    const analytics = new Analytics({
      writeKey: server.writeKey,
      host: server.url,
      flushAt: 10,
      maxRetries: 1,
    });
    const at = new Date('2026-03-01T10:00:00.000Z');
    analytics.track({
      userId: 'seg-u1',
      event: 'Order Completed',
      properties: { total: 42.5 },
      timestamp: at,
      messageId: 'seg-1',
    });
    analytics.identify({ userId: 'seg-u1', traits: { plan: 'pro' }, timestamp: at, messageId: 'seg-2' });
    analytics.page({
      anonymousId: 'seg-a1',
      name: 'Home',
      properties: { url: 'https://shop.example/?utm_source=news' },
      timestamp: at,
      messageId: 'seg-3',
    });
    analytics.group({
      userId: 'seg-u1',
      groupId: 'acme',
      traits: { seats: 5 },
      timestamp: at,
      messageId: 'seg-4',
    });
    analytics.alias({ userId: 'seg-u1', previousId: 'seg-a1', timestamp: at, messageId: 'seg-5' });
    analytics.screen({ userId: 'seg-u1', name: 'Settings', timestamp: at, messageId: 'seg-6' });
    await analytics.closeAndFlush({ timeout: 10_000 });
    const rows = await rowsFor("message_id LIKE 'seg-%'", 6);
    const byId = new Map(rows.map((r) => [r[7], r]));
    const track = byId.get('seg-1')!;
    assert.deepEqual(track.slice(0, 4), ['track', 'Order Completed', null, 'seg-u1']);
    // Loopback delivery: clock-skew correction moves the timestamp by well under a second.
    assert.equal(track[8], '2026-03-01T10:00:00');
    assert.deepEqual(JSON.parse(track[9] as string), { total: 42.5 });
    assert.deepEqual(JSON.parse(byId.get('seg-2')![10] as string), { plan: 'pro' });
    assert.deepEqual(byId.get('seg-3')!.slice(0, 5), ['page', null, 'Home', null, 'seg-a1']);
    const pageContext = JSON.parse(byId.get('seg-3')![11] as string);
    assert.equal(pageContext.tracklane.page.host, 'shop.example');
    assert.deepEqual(pageContext.campaign, { source: 'news' });
    assert.deepEqual(byId.get('seg-4')!.slice(0, 6), ['group', null, null, 'seg-u1', null, 'acme']);
    assert.deepEqual(byId.get('seg-5')!.slice(0, 7), ['alias', null, null, 'seg-u1', null, null, 'seg-a1']);
    assert.deepEqual(byId.get('seg-6')!.slice(0, 4), ['screen', null, 'Settings', 'seg-u1']);
    const library = JSON.parse(track[11] as string).library;
    assert.equal(library.name, '@segment/analytics-node');
  });

  it('stores what posthog-node sends (gzipped batches) mapped to the canonical model', async () => {
    const posthog = new PostHog(server.writeKey, { host: server.url, flushAt: 20, flushInterval: 0 });
    const at = new Date('2026-03-02T09:30:00.000Z');
    posthog.capture({
      distinctId: 'ph-u1',
      event: 'signed up',
      properties: { plan: 'free' },
      timestamp: at,
      uuid: '0190a1b2-0000-7000-8000-000000000001',
    });
    posthog.capture({
      distinctId: 'ph-u1',
      event: '$pageview',
      properties: { $current_url: 'https://app.example/pricing', $title: 'Pricing' },
      timestamp: at,
      uuid: '0190a1b2-0000-7000-8000-000000000002',
    });
    posthog.identify({ distinctId: 'ph-u1', properties: { email: 'a@example.com' } });
    posthog.alias({ distinctId: 'ph-u1', alias: 'ph-old' });
    posthog.groupIdentify({ groupType: 'company', groupKey: 'ph-co', properties: { name: 'Co' } });
    await posthog.shutdown(10_000);
    const rows = await rowsFor("user_id IN ('ph-u1', '$company_ph-co') OR group_id = 'ph-co'", 5);
    const track = rows.find((r) => r[0] === 'track')!;
    assert.deepEqual(track.slice(0, 4), ['track', 'signed up', null, 'ph-u1']);
    assert.equal(track[7], '0190a1b2-0000-7000-8000-000000000001');
    assert.equal(track[8], '2026-03-02T09:30:00');
    assert.equal(JSON.parse(track[9] as string).plan, 'free');
    const page = rows.find((r) => r[0] === 'page')!;
    assert.deepEqual(page.slice(0, 4), ['page', null, 'Pricing', 'ph-u1']);
    const identify = rows.find((r) => r[0] === 'identify')!;
    assert.equal(JSON.parse(identify[10] as string).email, 'a@example.com');
    const alias = rows.find((r) => r[0] === 'alias')!;
    assert.deepEqual([alias[3], alias[6]], ['ph-u1', 'ph-old']);
    const group = rows.find((r) => r[0] === 'group')!;
    assert.equal(group[5], 'ph-co');
    assert.deepEqual(JSON.parse(group[10] as string), { name: 'Co', $group_type: 'company' });
    // The project token is a write key: it must not be stored with the event.
    assert.doesNotMatch(JSON.stringify(rows), new RegExp(server.writeKey));
  });

  it('stores what @snowplow/node-tracker sends (tp2 POST) with schema-named events', async () => {
    const port = new URL(server.url).port;
    const tracker = newTracker(
      { namespace: 'tl', appId: 'shop-app', encodeBase64: true },
      {
        endpoint: '127.0.0.1',
        protocol: 'http',
        port: Number(port),
        bufferSize: 3,
        customHeaders: { authorization: `Basic ${Buffer.from(`${server.writeKey}:`).toString('base64')}` },
      },
    );
    tracker.setUserId('sp-u1');
    const dtm = Date.parse('2026-03-03T08:00:00.000Z');
    tracker.track(
      buildPageView({ pageUrl: 'https://blog.example/post?utm_medium=email', pageTitle: 'Post' }),
      [],
      { type: 'dtm', value: dtm },
    );
    tracker.track(buildStructEvent({ category: 'video', action: 'play', label: 'intro', value: 3 }), [], {
      type: 'dtm',
      value: dtm,
    });
    tracker.track(
      buildSelfDescribingEvent({
        event: { schema: 'iglu:com.acme/button_click/jsonschema/1-0-0', data: { id: 'buy' } },
      }),
      [{ schema: 'iglu:com.acme/user/jsonschema/1-0-0', data: { tier: 'gold' } }],
      { type: 'dtm', value: dtm },
    );
    await tracker.flush();
    const rows = await rowsFor("user_id = 'sp-u1'", 3);
    const page = rows.find((r) => r[0] === 'page')!;
    assert.equal(page[2], 'Post');
    assert.equal(page[8], '2026-03-03T08:00:00');
    assert.equal(JSON.parse(page[11] as string).campaign.medium, 'email');
    const play = rows.find((r) => r[1] === 'play')!;
    assert.deepEqual(JSON.parse(play[9] as string), {
      category: 'video',
      action: 'play',
      label: 'intro',
      value: 3,
    });
    const click = rows.find((r) => r[1] === 'button_click')!;
    assert.deepEqual(JSON.parse(click[9] as string), { id: 'buy' });
    const context = JSON.parse(click[11] as string);
    assert.equal(context.snowplow.schema, 'iglu:com.acme/button_click/jsonschema/1-0-0');
    assert.equal(context.snowplow.appId, 'shop-app');
    assert.deepEqual(context.snowplow.contexts, [
      { schema: 'iglu:com.acme/user/jsonschema/1-0-0', data: { tier: 'gold' } },
    ]);
    assert.match(String(click[7]), /^[0-9a-f-]{36}$/);
  });

  it('answers a Snowplow pixel with a GIF and stores the event, keyed by aid', async () => {
    const params = new URLSearchParams({
      e: 'se',
      se_ca: 'email',
      se_ac: 'open',
      aid: server.writeKey,
      duid: 'px-d1',
      eid: 'px-1',
      dtm: String(Date.parse('2026-03-04T00:00:00Z')),
    });
    const response = await fetch(`${server.url}/i?${params}`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'image/gif');
    assert.equal(
      Buffer.from(await response.arrayBuffer())
        .subarray(0, 6)
        .toString(),
      'GIF89a',
    );
    const [row] = await rowsFor("message_id = 'px-1'", 1);
    assert.deepEqual(row!.slice(0, 5), ['track', 'open', null, null, 'px-d1']);
    assert.doesNotMatch(String(row![11]), new RegExp(server.writeKey));
  });
});
