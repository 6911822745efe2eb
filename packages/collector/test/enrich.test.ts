import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TrackedEvent } from '@tracklane/core';
import { makeTempDir } from '@tracklane/test-utils';
import { makeBotStep } from '../src/enrich/bot.ts';
import { correctClockSkew } from '../src/enrich/clock-skew.ts';
import { makeGeoIpStep, openGeoIp } from '../src/enrich/geo-ip.ts';
import { anonymizeIp, makeIpStep } from '../src/enrich/ip.ts';
import { makePageUrlStep } from '../src/enrich/page-url.ts';
import { makeUserAgentStep } from '../src/enrich/user-agent.ts';
import type { RequestFacts } from '../src/request-facts.ts';
import { tinyMmdb } from './helpers/tiny-mmdb.ts';

const RECEIVED = '2026-05-01T12:00:00.000Z';
const facts = (over: Partial<RequestFacts> = {}): RequestFacts => ({
  ip: '203.0.113.77',
  userAgent: undefined,
  receivedAt: RECEIVED,
  receivedAtMs: Date.parse(RECEIVED),
  sentAt: undefined,
  ...over,
});
const event = (over: Record<string, unknown> = {}) =>
  ({
    type: 'track',
    event: 'E',
    userId: 'u',
    messageId: 'm',
    receivedAt: RECEIVED,
    sourceId: 's',
    ...over,
  }) as unknown as TrackedEvent;
const SAFARI =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';

describe('clock-skew correction', () => {
  it('shifts the timestamp by the distance between sentAt and receivedAt, keeping the original', () => {
    // The device clock is one hour fast: sent "13:00:10" for an event at "13:00:00", received at 12:00:00.
    const e = event({ timestamp: '2026-05-01T13:00:00.000Z', sentAt: '2026-05-01T13:00:10.000Z' });
    correctClockSkew(e, facts());
    assert.equal(e.timestamp, '2026-05-01T11:59:50.000Z');
    assert.equal(e.originalTimestamp, '2026-05-01T13:00:00.000Z');
  });
  it('uses the batch sentAt when the event has none, and receivedAt when there is no timestamp', () => {
    const e = event({ timestamp: '2026-05-01T11:00:00.000Z' });
    correctClockSkew(e, facts({ sentAt: '2026-05-01T11:00:05.000Z' }));
    assert.equal(e.timestamp, '2026-05-01T11:59:55.000Z');
    const bare = event();
    correctClockSkew(bare, facts());
    assert.equal(bare.timestamp, RECEIVED);
  });
  it('keeps the client timestamp as is without sentAt', () => {
    const e = event({ timestamp: '2020-01-01T00:00:00.000Z' });
    correctClockSkew(e, facts());
    assert.equal(e.timestamp, '2020-01-01T00:00:00.000Z');
  });
});

describe('IP anonymisation', () => {
  it('zeroes the last IPv4 octet and the last 80 bits of IPv6', () => {
    assert.equal(anonymizeIp('203.0.113.77'), '203.0.113.0');
    assert.equal(anonymizeIp('::ffff:10.1.2.3'), '10.1.2.0');
    assert.equal(anonymizeIp('2001:db8:85a3:1234:5678:8a2e:370:7334'), '2001:db8:85a3::');
    assert.equal(anonymizeIp('2001:db8::1'), '2001:db8:0::');
    assert.equal(anonymizeIp('not an ip'), undefined);
  });
  it('anonymises by default, drops or keeps on request, and prefers the client-sent IP', () => {
    const a = event();
    makeIpStep('anonymize')(a, facts());
    assert.equal(a.context?.ip, '203.0.113.0');
    const d = event({ context: { ip: '1.2.3.4' } });
    makeIpStep('drop')(d, facts());
    assert.equal('ip' in (d.context ?? {}), false);
    const k = event({ context: { ip: '1.2.3.4' } });
    makeIpStep('keep')(k, facts());
    assert.equal(k.context?.ip, '1.2.3.4');
  });
  it('anonymises each request address once and never hands one client another client’s address', () => {
    const step = makeIpStep('anonymize');
    const results: unknown[] = [];
    for (const ip of ['203.0.113.77', '203.0.113.77', '198.51.100.9', '2001:db8::1', '203.0.113.5']) {
      const e = event();
      step(e, facts({ ip }));
      results.push(e.context?.ip);
    }
    assert.deepEqual(results, ['203.0.113.0', '203.0.113.0', '198.51.100.0', '2001:db8:0::', '203.0.113.0']);
    const own = event({ context: { ip: '192.0.2.44' } });
    step(own, facts({ ip: '203.0.113.77' }));
    assert.equal(own.context?.ip, '192.0.2.0');
  });
});

describe('user agent and bots', () => {
  it('parses context.userAgent into browser, os and device', () => {
    const e = event({ context: { userAgent: SAFARI } });
    makeUserAgentStep()(e, facts());
    const ua = (e.context!.tracklane as { ua: Record<string, Record<string, string>> }).ua;
    assert.deepEqual(ua.browser, { name: 'Mobile Safari', version: '17.0' });
    assert.equal(ua.os!.name, 'iOS');
    assert.equal(ua.device!.type, 'mobile');
  });
  it('flags crawlers and leaves browsers alone, also when the answer comes from its cache', () => {
    const flagBots = makeBotStep();
    for (let round = 0; round < 2; round++) {
      const bot = event({
        context: { userAgent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' },
      });
      flagBots(bot, facts());
      assert.equal((bot.context!.tracklane as { bot: boolean }).bot, true);
      const human = event({ context: { userAgent: SAFARI } });
      flagBots(human, facts());
      assert.equal(human.context?.tracklane, undefined);
    }
  });
  it('gives the cached parse of a user agent to later events', () => {
    const parseUa = makeUserAgentStep();
    const first = event({ context: { userAgent: SAFARI } });
    const second = event({ context: { userAgent: SAFARI } });
    parseUa(first, facts());
    parseUa(second, facts());
    assert.deepEqual(second.context?.tracklane, first.context?.tracklane);
    assert.equal((second.context!.tracklane as { ua: { os: { name: string } } }).ua.os.name, 'iOS');
  });
});

describe('page URL parsing', () => {
  const parsePageUrl = makePageUrlStep();
  it('extracts host, path, referrer host and UTM campaign fields', () => {
    const e = event({
      type: 'page',
      properties: {
        url: 'https://shop.example/sale/shoes?utm_source=news&utm_medium=email&utm_campaign=spring&x=1',
      },
      context: { page: { referrer: 'https://www.google.com/search?q=a' } },
    });
    parsePageUrl(e, facts());
    assert.deepEqual(e.context?.tracklane, {
      page: { host: 'shop.example', path: '/sale/shoes', referrerHost: 'www.google.com' },
    });
    assert.deepEqual(e.context?.campaign, { source: 'news', medium: 'email', name: 'spring' });
  });
  it('does not overwrite a campaign the client sent, and ignores unparseable URLs', () => {
    const e = event({
      context: { page: { url: 'https://a.example/?utm_source=x' }, campaign: { name: 'mine' } },
    });
    parsePageUrl(e, facts());
    assert.deepEqual(e.context?.campaign, { name: 'mine' });
    const bad = event({ context: { page: { url: 'not a url' } } });
    parsePageUrl(bad, facts());
    assert.deepEqual(bad.context?.tracklane, { page: {} });
  });
  it('answers a repeated URL from its cache the same way, without sharing the per-event result', () => {
    const url = 'https://shop.example/p/1?utm_source=bench';
    const first = event({ context: { page: { url } } });
    const second = event({ context: { page: { url, referrer: 'https://ref.example/x' } } });
    parsePageUrl(first, facts());
    parsePageUrl(second, facts());
    assert.deepEqual(first.context?.tracklane, { page: { host: 'shop.example', path: '/p/1' } });
    assert.deepEqual(second.context?.tracklane, {
      page: { host: 'shop.example', path: '/p/1', referrerHost: 'ref.example' },
    });
    assert.deepEqual(second.context?.campaign, { source: 'bench' });
    const again = event({ context: { page: { url: 'not a url' } } });
    parsePageUrl(again, facts());
    assert.deepEqual(again.context?.tracklane, { page: {} });
  });
});

describe('geo-IP from a MaxMind-format database', () => {
  it('adds country, region, city and timezone for a known network and nothing otherwise', async () => {
    await using dir = await makeTempDir();
    const path = join(dir.path, 'tiny.mmdb');
    await writeFile(
      path,
      tinyMmdb([
        {
          prefix: '203.0.113.0',
          bits: 24,
          record: {
            country: { iso_code: 'NL' },
            subdivisions: [{ iso_code: 'NH' }],
            city: { names: { en: 'Amsterdam' } },
            location: { time_zone: 'Europe/Amsterdam' },
          },
        },
      ]),
    );
    const step = makeGeoIpStep(await openGeoIp(path));
    const e = event();
    step(e, facts());
    assert.deepEqual((e.context!.tracklane as { geo: unknown }).geo, {
      country: 'NL',
      region: 'NH',
      city: 'Amsterdam',
      timezone: 'Europe/Amsterdam',
    });
    const unknown = event();
    step(unknown, facts({ ip: '198.51.100.1' }));
    assert.equal(unknown.context?.tracklane, undefined);
  });
});
