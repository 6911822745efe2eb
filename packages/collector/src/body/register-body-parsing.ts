import { TracklaneError } from '@tracklane/core';
import type { FastifyInstance } from 'fastify';
import { rememberRawBody } from '../failed-request.ts';
import { gunzipLimited } from './decompress.ts';

/**
 * Body handling for the collector scope only: gzip (`Content-Encoding: gzip`, or PostHog's
 * `?compression=gzip-js` which posts gzip without the header), JSON sent as text/plain (browser beacons
 * avoid a CORS preflight that way), and urlencoded forms (posthog-js `data=...`).
 */
export function registerBodyParsing(app: FastifyInstance, maxBytes: number): void {
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const encoding = request.headers['content-encoding'];
    const gzipJs = (request.query as { compression?: unknown } | undefined)?.compression === 'gzip-js';
    if ((encoding === undefined || encoding === 'identity') && !gzipJs) {
      done(null, payload);
      return;
    }
    if (encoding === 'gzip' || encoding === 'x-gzip' || gzipJs) {
      done(null, gunzipLimited(payload, maxBytes) as typeof payload);
      return;
    }
    done(
      new TracklaneError(
        'E_UNSUPPORTED_MEDIA_TYPE',
        `content-encoding ${encoding} is not supported: use gzip`,
      ),
    );
  });
  // Fastify's own JSON parser (prototype-poisoning checks included), wrapped so that a body that fails to
  // parse is kept for its dead letter (see failed-request.ts).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: maxBytes },
    (request, text, done) => {
      const body = text as string;
      parseJson(request, body, (err, value) => {
        if (err !== null) rememberRawBody(err, body);
        done(err, value);
      });
    },
  );
  app.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: maxBytes }, (_req, text, done) => {
    const body = text as string;
    const first = body.trimStart()[0];
    // Not JSON-looking: hand the text over (PostHog base64 bodies); routes decide.
    if (first !== '{' && first !== '[') {
      done(null, body);
      return;
    }
    try {
      done(null, JSON.parse(body));
    } catch (err) {
      const error = new TracklaneError(
        'E_INVALID_JSON',
        `request body is not valid JSON: ${(err as Error).message}`,
      );
      rememberRawBody(error, body);
      done(error, undefined);
    }
  });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: maxBytes },
    (_req, text, done) => {
      done(null, Object.fromEntries(new URLSearchParams(text as string)));
    },
  );
}
