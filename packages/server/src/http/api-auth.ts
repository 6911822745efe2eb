import { createHash, timingSafeEqual } from 'node:crypto';
import { TracklaneError } from '@tracklane/core';
import type { FastifyRequest } from 'fastify';

/** Checks `Authorization: Bearer <api key>` in constant time against the configured keys' digests. */
export function makeApiKeyCheck(apiKeys: string[]): (request: FastifyRequest) => void {
  const digests = apiKeys.map(sha256);
  return (request) => {
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (token !== undefined && token.length > 0) {
      const candidate = sha256(token);
      if (digests.some((d) => timingSafeEqual(d, candidate))) return;
    }
    throw new TracklaneError(
      'E_UNAUTHORIZED',
      'missing or wrong API key: send "Authorization: Bearer <api key>"',
    );
  };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
