import { TracklaneError } from '@tracklane/core';
import { Unmappable } from '../unmappable.ts';

type Bag = Record<string, unknown>;

export const SNOWPLOW_POST_PATH = '/com.snowplowanalytics.snowplow/tp2';
export const SNOWPLOW_PIXEL_PATH = '/i';

/** The 1x1 transparent GIF a pixel request answers with. */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** The events of a tp2 POST body: `{schema: ".../payload_data/...", data: [...]}`. */
export function snowplowPayloads(body: unknown): Bag[] {
  const data = (body as { data?: unknown } | null)?.data;
  if (typeof body !== 'object' || body === null || !Array.isArray(data)) {
    throw new TracklaneError(
      'E_VALIDATION',
      'body must be Snowplow payload_data: {"schema": "...", "data": [...]}',
      {
        fields: [{ path: '/data', message: 'data must be an array of events' }],
      },
    );
  }
  return data as Bag[];
}

/**
 * One Snowplow tracker-protocol event -> the canonical model:
 * - `pv` -> page (url, page title, refr); `se` -> track named by `se_ac`, with category/action/label/
 *   property/value in properties; `ue` -> track named after the self-describing schema (`screen_view`
 *   -> screen), the schema's data as properties; `pp` -> track "Page Ping"; `tr`/`ti` -> track
 *   "Transaction"/"Transaction Item".
 * - ids: `eid` -> messageId, `uid` -> userId, `duid` (else `nuid`) -> anonymousId.
 * - times: `ttm` (true timestamp) else `dtm` -> timestamp, `stm` -> sentAt (so clock skew is corrected).
 * - `co`/`cx` contexts, platform, app id and tracker version -> `context.snowplow`.
 */
export function fromSnowplowEvent(
  raw: unknown,
  requestUserAgent: string | undefined,
  appIdIsKey: boolean,
): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return new Unmappable('event must be a JSON object', raw);
  const p = raw as Bag;
  const kind = p.e;
  const out: Bag = {};
  const messageId = str(p.eid);
  if (messageId !== undefined) out.messageId = messageId;
  const userId = str(p.uid);
  if (userId !== undefined) out.userId = userId;
  const anonymousId = str(p.duid) ?? str(p.nuid);
  if (anonymousId !== undefined) out.anonymousId = anonymousId;
  const timestamp = epochMs(p.ttm) ?? epochMs(p.dtm);
  if (timestamp !== undefined) out.timestamp = timestamp;
  const sentAt = epochMs(p.stm);
  if (sentAt !== undefined) out.sentAt = sentAt;

  const snowplow: Bag = {};
  if (!appIdIsKey && typeof p.aid === 'string') snowplow.appId = p.aid;
  if (typeof p.p === 'string') snowplow.platform = p.p;
  if (typeof p.tv === 'string') snowplow.trackerVersion = p.tv;
  if (typeof p.tna === 'string') snowplow.namespace = p.tna;
  let contexts: unknown;
  try {
    contexts = selfDescribing(p.co, p.cx);
  } catch (err) {
    return new Unmappable(`co/cx is not valid JSON: ${(err as Error).message}`, raw);
  }
  if (contexts !== undefined) snowplow.contexts = (contexts as Bag).data ?? contexts;
  const context: Bag = { snowplow };
  const ua = str(p.ua) ?? (p.p === 'web' ? requestUserAgent : undefined);
  if (ua !== undefined) context.userAgent = ua;
  if (typeof p.ip === 'string') context.ip = p.ip;
  if (typeof p.lang === 'string') context.locale = p.lang;
  if (typeof p.tz === 'string') context.timezone = p.tz;
  if (typeof p.url === 'string') {
    const page: Bag = { url: p.url };
    if (typeof p.page === 'string') page.title = p.page;
    if (typeof p.refr === 'string') page.referrer = p.refr;
    context.page = page;
  }
  out.context = context;

  switch (kind) {
    case 'pv':
      out.type = 'page';
      if (typeof p.page === 'string') out.name = p.page;
      out.properties = compact({ url: p.url, title: p.page, referrer: p.refr });
      break;
    case 'se':
      if (typeof p.se_ac !== 'string' || p.se_ac.length === 0)
        return new Unmappable('structured event without se_ac', raw);
      out.type = 'track';
      out.event = p.se_ac;
      out.properties = compact({
        category: p.se_ca,
        action: p.se_ac,
        label: p.se_la,
        property: p.se_pr,
        value: p.se_va === undefined ? undefined : Number(p.se_va),
      });
      break;
    case 'ue': {
      let envelope: unknown;
      try {
        envelope = selfDescribing(p.ue_pr, p.ue_px);
      } catch (err) {
        return new Unmappable(`ue_pr/ue_px is not valid JSON: ${(err as Error).message}`, raw);
      }
      const inner = (envelope as Bag | undefined)?.data as Bag | undefined;
      const schema = inner?.schema;
      if (typeof schema !== 'string') return new Unmappable('self-describing event without a schema', raw);
      const eventName = schemaName(schema);
      const data = typeof inner?.data === 'object' && inner.data !== null ? (inner.data as Bag) : {};
      snowplow.schema = schema;
      if (eventName === 'screen_view') {
        out.type = 'screen';
        if (typeof data.name === 'string') out.name = data.name;
      } else {
        out.type = 'track';
        out.event = eventName;
      }
      out.properties = data;
      break;
    }
    case 'pp':
      out.type = 'track';
      out.event = 'Page Ping';
      out.properties = compact({
        url: p.url,
        minX: p.pp_mix,
        maxX: p.pp_max,
        minY: p.pp_miy,
        maxY: p.pp_may,
      });
      break;
    case 'tr':
      out.type = 'track';
      out.event = 'Transaction';
      out.properties = compact({
        orderId: p.tr_id,
        affiliation: p.tr_af,
        total: num(p.tr_tt),
        tax: num(p.tr_tx),
        shipping: num(p.tr_sh),
        currency: p.tr_cu,
      });
      break;
    case 'ti':
      out.type = 'track';
      out.event = 'Transaction Item';
      out.properties = compact({
        orderId: p.ti_id,
        sku: p.ti_sk,
        name: p.ti_nm,
        category: p.ti_ca,
        price: num(p.ti_pr),
        quantity: num(p.ti_qu),
        currency: p.ti_cu,
      });
      break;
    default:
      return new Unmappable(`unsupported Snowplow event type e=${String(kind)}`, raw);
  }
  return out;
}

/** `iglu:com.acme/button_click/jsonschema/1-0-0` -> `button_click`. */
export function schemaName(schema: string): string {
  const parts = schema.split('/');
  return parts.length >= 2 ? (parts[parts.length - 3] ?? schema) : schema;
}

/** Plain JSON (`ue_pr`, `co`) or base64url JSON (`ue_px`, `cx`). */
function selfDescribing(plain: unknown, encoded: unknown): unknown {
  if (typeof plain === 'string' && plain.length > 0) return JSON.parse(plain);
  if (typeof encoded === 'string' && encoded.length > 0)
    return JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  return undefined;
}

function epochMs(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const ms = Number(value);
  return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : undefined;
}

function num(value: unknown): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function compact(value: Bag): Bag {
  for (const key of Object.keys(value)) if (value[key] === undefined) delete value[key];
  return value;
}
