import { TracklaneError } from '@tracklane/core';
import LZString from 'lz-string';
import { Unmappable } from '../unmappable.ts';

type Bag = Record<string, unknown>;

export interface PostHogRequest {
  apiKey: string | undefined;
  events: unknown[];
  sentAt: string | undefined;
  /** `/batch` when the events came in a `batch` array, for error paths. */
  pathPrefix: string | undefined;
}

/** Paths PostHog SDKs post events to. */
export const POSTHOG_PATHS = [
  '/e/',
  '/e',
  '/i/v0/e/',
  '/i/v0/e',
  '/capture/',
  '/capture',
  '/batch/',
  '/batch',
  '/track/',
  '/track',
];

/**
 * Unwraps every body shape PostHog clients send: JSON (gzip-decoded earlier when `Content-Encoding: gzip`
 * or `?compression=gzip-js`), and posthog-js's form bodies `data=<base64 JSON>` or `data=<lz64>` with
 * `compression=lz64`. The result is one event, an array, or `{batch: [...]}`.
 */
export function decodePostHogBody(body: unknown, query: Bag): unknown {
  if (typeof body === 'string') return decodeText(body, query.compression);
  if (
    typeof body === 'object' &&
    body !== null &&
    !Array.isArray(body) &&
    typeof (body as Bag).data === 'string'
  ) {
    const form = body as Bag;
    return decodeText(form.data as string, form.compression ?? query.compression);
  }
  return body;
}

function decodeText(text: string, compression: unknown): unknown {
  const trimmed = text.trim();
  let json: string | null;
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) json = trimmed;
  else if (compression === 'lz64') json = LZString.decompressFromBase64(trimmed);
  else json = Buffer.from(trimmed, 'base64').toString('utf8');
  if (json === null || json.length === 0) {
    throw new TracklaneError('E_INVALID_JSON', 'PostHog body could not be decoded (base64 or lz64 expected)');
  }
  try {
    return JSON.parse(json);
  } catch (err) {
    throw new TracklaneError('E_INVALID_JSON', `PostHog body is not valid JSON: ${(err as Error).message}`);
  }
}

export function readPostHogRequest(decoded: unknown, query: Bag): PostHogRequest {
  let events: unknown[];
  let apiKey: unknown;
  let sentAt: unknown;
  let pathPrefix: string | undefined;
  if (Array.isArray(decoded)) {
    events = decoded;
    pathPrefix = '';
  } else if (typeof decoded === 'object' && decoded !== null) {
    const body = decoded as Bag;
    apiKey = body.api_key ?? body.token;
    sentAt = body.sent_at;
    if (Array.isArray(body.batch)) {
      events = body.batch;
      pathPrefix = '/batch';
    } else events = [body];
  } else {
    throw new TracklaneError(
      'E_VALIDATION',
      'body must be a PostHog event, an array of them or {"batch": [...]}',
    );
  }
  if (apiKey === undefined) {
    const first = events[0] as Bag | undefined;
    apiKey = first?.api_key ?? first?.token ?? (first?.properties as Bag | undefined)?.token;
  }
  apiKey ??= query.token ?? query.api_key;
  return {
    apiKey: typeof apiKey === 'string' ? apiKey : undefined,
    events,
    sentAt: typeof sentAt === 'string' ? sentAt : undefined,
    pathPrefix,
  };
}

/**
 * One PostHog event -> the canonical model: `$pageview` -> page, `$screen` -> screen, `$identify` and
 * `$set` -> identify (traits from `$set_once` then `$set`), `$create_alias` -> alias, `$groupidentify`
 * -> group, anything else -> track. `distinct_id` becomes userId unless it is the device's anonymous id.
 * PostHog's own `$` properties stay in `properties` (people query them); the token never does.
 */
export function fromPostHogEvent(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return new Unmappable('event must be a JSON object', raw);
  const e = raw as Bag;
  const name = e.event;
  if (typeof name !== 'string' || name.length === 0)
    return new Unmappable('"event" must be a non-empty string', raw);
  const props: Bag = typeof e.properties === 'object' && e.properties !== null ? (e.properties as Bag) : {};
  const distinctId = str(e.distinct_id) ?? str(e.$distinct_id) ?? str(props.distinct_id);
  delete props.token;
  delete props.api_key;
  delete props.distinct_id;
  const out: Bag = {};
  const anonymous = str(props.$anon_distinct_id) ?? str(props.$device_id);
  if (distinctId !== undefined && distinctId !== anonymous) out.userId = distinctId;
  if (anonymous !== undefined) out.anonymousId = anonymous;
  else if (out.userId === undefined && distinctId !== undefined) out.anonymousId = distinctId;
  const messageId = str(e.uuid);
  if (messageId !== undefined) out.messageId = messageId;
  const timestamp = str(e.timestamp);
  if (timestamp !== undefined) out.timestamp = timestamp;
  const sentAt = str(e.sent_at);
  if (sentAt !== undefined) out.sentAt = sentAt;
  out.context = contextFrom(props);

  switch (name) {
    case '$pageview':
      out.type = 'page';
      if (typeof props.$title === 'string') out.name = props.$title;
      out.properties = props;
      break;
    case '$screen':
      out.type = 'screen';
      if (typeof props.$screen_name === 'string') out.name = props.$screen_name;
      out.properties = props;
      break;
    case '$identify':
    case '$set': {
      out.type = 'identify';
      const set = (e.$set ?? props.$set) as Bag | undefined;
      const setOnce = (e.$set_once ?? props.$set_once) as Bag | undefined;
      out.traits = {
        ...(typeof setOnce === 'object' ? setOnce : {}),
        ...(typeof set === 'object' ? set : {}),
      };
      break;
    }
    case '$create_alias':
      out.type = 'alias';
      if (typeof props.alias === 'string') out.previousId = props.alias;
      if (out.userId === undefined && distinctId !== undefined) out.userId = distinctId;
      delete out.anonymousId;
      break;
    case '$groupidentify': {
      out.type = 'group';
      if (props.$group_key !== undefined) out.groupId = String(props.$group_key);
      const groupSet = props.$group_set;
      out.traits = { ...(typeof groupSet === 'object' && groupSet !== null ? (groupSet as Bag) : {}) };
      if (typeof props.$group_type === 'string') (out.traits as Bag).$group_type = props.$group_type;
      break;
    }
    default:
      out.type = 'track';
      out.event = name;
      out.properties = props;
  }
  return out;
}

function contextFrom(props: Bag): Bag {
  const context: Bag = {};
  if (typeof props.$lib === 'string') {
    context.library = {
      name: props.$lib,
      version: typeof props.$lib_version === 'string' ? props.$lib_version : undefined,
    };
  }
  const ua = str(props.$raw_user_agent) ?? str(props.$user_agent);
  if (ua !== undefined) context.userAgent = ua;
  if (typeof props.$ip === 'string') context.ip = props.$ip;
  if (typeof props.$current_url === 'string') {
    const page: Bag = { url: props.$current_url };
    if (typeof props.$pathname === 'string') page.path = props.$pathname;
    if (typeof props.$referrer === 'string' && props.$referrer !== '$direct') page.referrer = props.$referrer;
    if (typeof props.$title === 'string') page.title = props.$title;
    context.page = page;
  }
  return context;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
