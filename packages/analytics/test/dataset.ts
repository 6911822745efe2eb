import type { TrackedEvent } from '@tracklane/core';

/**
 * A small world whose answers are worked out by hand in the tests (all times UTC, March 2026; Monday is
 * 2026-03-02; New York is UTC-5 until 2026-03-08):
 *   alice: anonymous 'a-anon' views /home and a product, identifies, signs up (pro), buys 30 the same
 *          morning, buys 20 the next week.
 *   bob:   identified throughout; views at 23:30 on the 2nd, signs up (free) at 00:30 on the 3rd.
 *   carol: anonymous 'c-anon' views, signs up with both ids (pro) 5 minutes later, buys 50 on the 20th.
 *   dave:  only signs up (free) on the 4th.
 */
export const PEOPLE: TrackedEvent[] = [
  page(
    'a1',
    { anonymousId: 'a-anon' },
    '2026-03-02T10:00:00Z',
    '/home',
    'https://www.google.com/search?q=x',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15',
    { source: 'newsletter', medium: 'email', name: 'spring' },
    'FR',
  ),
  track('a2', { anonymousId: 'a-anon' }, '2026-03-02T10:05:00Z', 'Viewed Product'),
  identify('a3', { anonymousId: 'a-anon', userId: 'alice' }, '2026-03-02T10:10:00Z'),
  track('a4', { userId: 'alice' }, '2026-03-02T10:11:00Z', 'Signed Up', { plan: 'pro' }),
  track('a5', { userId: 'alice' }, '2026-03-02T10:30:00Z', 'Purchased', { amount: 30, plan: 'pro' }),
  track('a6', { userId: 'alice' }, '2026-03-10T09:00:00Z', 'Purchased', { amount: 20 }),
  page(
    'b1',
    { userId: 'bob' },
    '2026-03-02T23:29:00Z',
    '/home',
    undefined,
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
    undefined,
    'US',
  ),
  page(
    'b1b',
    { userId: 'bob' },
    '2026-03-02T23:29:30Z',
    '/pricing',
    undefined,
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
    undefined,
    'US',
  ),
  track('b2', { userId: 'bob' }, '2026-03-02T23:30:00Z', 'Viewed Product'),
  track('b3', { userId: 'bob' }, '2026-03-03T00:30:00Z', 'Signed Up', { plan: 'free' }),
  page(
    'c0',
    { anonymousId: 'c-anon' },
    '2026-03-03T11:59:00Z',
    '/pricing',
    'https://news.ycombinator.com/item?id=1',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
    undefined,
    'FR',
  ),
  track('c1', { anonymousId: 'c-anon' }, '2026-03-03T12:00:00Z', 'Viewed Product'),
  track('c2', { anonymousId: 'c-anon', userId: 'carol' }, '2026-03-03T12:05:00Z', 'Signed Up', {
    plan: 'pro',
  }),
  track('c3', { userId: 'carol' }, '2026-03-20T12:00:00Z', 'Purchased', { amount: 50 }),
  track('d1', { userId: 'dave' }, '2026-03-04T08:00:00Z', 'Signed Up', { plan: 'free' }),
];

type Ids = { userId?: string; anonymousId?: string };

function base(id: string, ids: Ids, timestamp: string) {
  return { messageId: id, ...ids, timestamp, receivedAt: timestamp, sourceId: 'src_test' };
}

function track(
  id: string,
  ids: Ids,
  timestamp: string,
  event: string,
  properties: Record<string, unknown> = {},
): TrackedEvent {
  return { type: 'track', event, properties, ...base(id, ids, timestamp) } as TrackedEvent;
}

function identify(id: string, ids: Ids, timestamp: string): TrackedEvent {
  return { type: 'identify', traits: {}, ...base(id, ids, timestamp) } as TrackedEvent;
}

function page(
  id: string,
  ids: Ids,
  timestamp: string,
  path: string,
  referrer: string | undefined,
  userAgent: string,
  campaign: Record<string, string> | undefined,
  country: string,
): TrackedEvent {
  return {
    type: 'page',
    properties: { path },
    context: {
      page: { path, url: `https://shop.example${path}`, ...(referrer === undefined ? {} : { referrer }) },
      userAgent,
      ...(campaign === undefined ? {} : { campaign }),
      location: { country },
    },
    ...base(id, ids, timestamp),
  } as TrackedEvent;
}
