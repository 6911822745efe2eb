import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TracklaneError } from '@tracklane/core';

/**
 * Gunzips a request body while counting: fastify's body limit then applies to the *decompressed* bytes
 * (so a zip bomb stops at the limit, not at memory exhaustion), and `receivedEncodedLength` carries the
 * compressed byte count that fastify checks against Content-Length.
 */
export function gunzipLimited(input: NodeJS.ReadableStream, maxBytes: number): NodeJS.ReadableStream {
  let encoded = 0;
  let decoded = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      encoded += chunk.length;
      (output as { receivedEncodedLength?: number }).receivedEncodedLength = encoded;
      done(null, chunk);
    },
  });
  const output = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      decoded += chunk.length;
      if (decoded > maxBytes) {
        done(
          new TracklaneError(
            'E_PAYLOAD_TOO_LARGE',
            `decompressed body exceeds ${maxBytes} bytes: send smaller batches`,
          ),
        );
        return;
      }
      done(null, chunk);
    },
  });
  pipeline(input, counter, createGunzip(), output, (err) => {
    if (err === undefined || err === null || output.destroyed) return;
    if (!(err instanceof TracklaneError)) {
      output.destroy(new TracklaneError('E_BAD_ARGUMENT', `request body is not valid gzip: ${err.message}`));
    }
  });
  return output;
}
