import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateEvent } from '@tracklane/core';
import LZString from 'lz-string';
import { decodePostHogBody, fromPostHogEvent, readPostHogRequest } from '../src/protocols/posthog.ts';
import { fromSnowplowEvent, schemaName } from '../src/protocols/snowplow.ts';
import { Unmappable } from '../src/unmappable.ts';

describe('PostHog mapping', () => {
  it('decodes base64 and lz64 form bodies', () => {
    const events = [{ event: 'x', distinct_id: 'd' }];
    const json = JSON.stringify(events);
    assert.deepEqual(decodePostHogBody({ data: Buffer.from(json).toString('base64') }, {}), events);
    assert.deepEqual(
      decodePostHogBody({ data: LZString.compressToBase64(json) }, { compression: 'lz64' }),
      events,
    );
    assert.deepEqual(decodePostHogBody(json, {}), events);
  });
  it('finds the api key in the body, the events or the query', () => {
    assert.equal(readPostHogRequest({ api_key: 'k1', batch: [] }, {}).apiKey, 'k1');
    assert.equal(readPostHogRequest([{ event: 'x', properties: { token: 'k2' } }], {}).apiKey, 'k2');
    assert.equal(readPostHogRequest({ event: 'x' }, { token: 'k3' }).apiKey, 'k3');
  });
  it('maps $identify with $set traits and the anonymous id, valid in the canonical model', () => {
    const mapped = fromPostHogEvent({
      event: '$identify',
      distinct_id: 'user-1',
      uuid: 'u-1',
      $set: { email: 'a@b.c' },
      properties: { $anon_distinct_id: 'anon-1', $set_once: { first: 'x' }, token: 'secret' },
    });
    assert.deepEqual(
      { ...(mapped as object), context: undefined },
      {
        type: 'identify',
        userId: 'user-1',
        anonymousId: 'anon-1',
        messageId: 'u-1',
        traits: { first: 'x', email: 'a@b.c' },
        context: undefined,
      },
    );
    assert.equal(validateEvent(mapped).ok, true);
  });
  it('maps $pageview, $screen and custom events; the token never stays in properties', () => {
    const page = fromPostHogEvent({
      event: '$pageview',
      distinct_id: 'd',
      properties: { $current_url: 'https://a/b', $title: 'T', token: 'k' },
    }) as Record<string, unknown>;
    assert.equal(page.type, 'page');
    assert.equal(page.name, 'T');
    assert.equal((page.properties as Record<string, unknown>).token, undefined);
    assert.equal(
      (
        fromPostHogEvent({ event: '$screen', distinct_id: 'd', properties: { $screen_name: 'S' } }) as Record<
          string,
          unknown
        >
      ).name,
      'S',
    );
    assert.equal(
      (fromPostHogEvent({ event: 'clicked', distinct_id: 'd' }) as Record<string, unknown>).event,
      'clicked',
    );
    assert.ok(fromPostHogEvent({ distinct_id: 'd' }) instanceof Unmappable);
  });
});

describe('Snowplow mapping', () => {
  const base = {
    eid: 'e-1',
    duid: 'd-1',
    dtm: '1767225600000',
    stm: '1767225601000',
    p: 'web',
    aid: 'app',
    tv: 'js-3',
  };
  it('maps a structured event to track named by its action', () => {
    const mapped = fromSnowplowEvent(
      { ...base, e: 'se', se_ca: 'video', se_ac: 'play', se_va: '2.5' },
      undefined,
      false,
    ) as Record<string, unknown>;
    assert.equal(mapped.event, 'play');
    assert.deepEqual(mapped.properties, { category: 'video', action: 'play', value: 2.5 });
    assert.equal(mapped.timestamp, '2026-01-01T00:00:00.000Z');
    assert.equal(mapped.sentAt, '2026-01-01T00:00:01.000Z');
    assert.equal(validateEvent(mapped).ok, true);
  });
  it('decodes base64url ue_px and cx and names the event after the schema', () => {
    const ue = {
      schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0',
      data: { schema: 'iglu:com.acme/link_click/jsonschema/1-0-0', data: { target: 'x' } },
    };
    const cx = {
      schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0',
      data: [{ schema: 'iglu:a/b/jsonschema/1-0-0', data: { k: 1 } }],
    };
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const mapped = fromSnowplowEvent(
      { ...base, e: 'ue', ue_px: b64(ue), cx: b64(cx) },
      'UA',
      false,
    ) as Record<string, Record<string, unknown>>;
    assert.equal(mapped.event as unknown, 'link_click');
    assert.deepEqual(mapped.properties, { target: 'x' });
    assert.deepEqual(mapped.context!.snowplow, {
      appId: 'app',
      platform: 'web',
      trackerVersion: 'js-3',
      contexts: cx.data,
      schema: 'iglu:com.acme/link_click/jsonschema/1-0-0',
    });
    assert.equal(mapped.context!.userAgent, 'UA');
    assert.equal(schemaName('iglu:com.acme/link_click/jsonschema/1-0-0'), 'link_click');
  });
  it('turns undecodable or unknown events into Unmappable instead of failing the batch', () => {
    assert.ok(
      fromSnowplowEvent({ ...base, e: 'ue', ue_px: 'not-json' }, undefined, false) instanceof Unmappable,
    );
    assert.ok(fromSnowplowEvent({ ...base, e: 'zz' }, undefined, false) instanceof Unmappable);
  });
});
