import { TracklaneError } from '@tracklane/core';
import type { Log } from '@tracklane/log';
import type { Store } from '@tracklane/storage';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { eraseUser } from '../erasure.ts';
import type { LiveEvents } from '../live-events.ts';

/** `DELETE /api/users/:id`: erases the person (events, stitched anonymous ids, derived rows) for good. */
export function registerUsersRoute(
  app: FastifyInstance,
  log: Log,
  store: Store,
  live: LiveEvents,
  checkApiKey: (request: FastifyRequest) => void,
): void {
  app.delete<{ Params: { id: string } }>('/api/users/:id', async (request) => {
    checkApiKey(request);
    const id = request.params.id;
    if (id.length === 0 || id.length > 256) {
      throw new TracklaneError('E_VALIDATION', 'user id must be 1 to 256 characters', {
        fields: [{ path: '/id', message: 'must be 1 to 256 characters' }],
      });
    }
    const erasure = await eraseUser(log, store, id);
    live.forget(erasure.ids);
    return { erased: id, ...erasure };
  });
}
