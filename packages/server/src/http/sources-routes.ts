import type { SourceRegistry } from '@tracklane/collector';
import { newSecret, TracklaneError } from '@tracklane/core';
import type { Store } from '@tracklane/storage';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  type KeySource,
  maskSecret,
  removeSavedSource,
  savedSourceIds,
  saveSource,
  sourceIdFor,
} from '../keys.ts';

export interface SourceSummary {
  id: string;
  name: string;
  /** The first characters of the write key: enough to recognise it, never enough to use it. */
  keyPreview: string;
  createdAt: string | null;
  /** False for keys given on the command line or in the environment: only the operator can remove those. */
  revocable: boolean;
  events24h: number;
  lastEventAt: string | null;
}

interface SourcesDeps {
  dataDir: string;
  /** The running sources, shared with whoever printed them at start; changed in place. */
  sources: KeySource[];
  registry: SourceRegistry;
  store: Store;
}

/**
 * `GET /api/sources`, `POST /api/sources {"name"}` and `DELETE /api/sources/:id`: write keys managed from
 * the dashboard. A key is shown in full once, in the create response; keys.json and the collector's
 * registry change together so a revoked key is refused from the next request on.
 */
export function registerSourcesRoutes(
  app: FastifyInstance,
  deps: SourcesDeps,
  checkApiKey: (request: FastifyRequest) => void,
): void {
  app.get('/api/sources', async (request) => {
    checkApiKey(request);
    const saved = await savedSourceIds(deps.dataDir);
    const since = new Date(Date.now() - 86_400_000).toISOString();
    const stats = await deps.store.query(
      `SELECT source_id, count(*) FILTER (WHERE received_at >= $1::TIMESTAMP) AS recent,
              strftime(max(received_at), '%Y-%m-%dT%H:%M:%S.%gZ') AS last
       FROM events GROUP BY source_id`,
      { params: [since.replace('Z', '')], maxRows: 10_000 },
    );
    const bySource = new Map(stats.rows.map((r) => [String(r[0]), { recent: Number(r[1]), last: r[2] }]));
    const sources: SourceSummary[] = deps.sources.map((s) => ({
      id: s.id,
      name: s.name,
      keyPreview: maskSecret(s.writeKey),
      createdAt: s.createdAt ?? null,
      revocable: saved.has(s.id),
      events24h: bySource.get(s.id)?.recent ?? 0,
      lastEventAt: (bySource.get(s.id)?.last as string | null | undefined) ?? null,
    }));
    return { sources };
  });

  app.post('/api/sources', async (request, reply) => {
    checkApiKey(request);
    const body = request.body as { name?: unknown } | undefined;
    const name = typeof body?.name === 'string' ? body.name.trim() : '';
    if (name.length === 0 || name.length > 100) {
      throw new TracklaneError('E_VALIDATION', 'send {"name": "..."} with a name of 1 to 100 characters', {
        fields: [{ path: '/name', message: 'must be a non-empty string of at most 100 characters' }],
      });
    }
    const writeKey = newSecret('wk');
    const source: KeySource = {
      id: sourceIdFor(writeKey),
      name,
      writeKey,
      createdAt: new Date().toISOString(),
      createdBy: 'api',
    };
    // Saved first: a key that works but would be forgotten on restart is worse than an error now.
    await saveSource(deps.dataDir, source);
    deps.sources.push(source);
    deps.registry.add(source);
    return reply.code(201).send({ id: source.id, name, writeKey, createdAt: source.createdAt });
  });

  app.delete<{ Params: { id: string } }>('/api/sources/:id', async (request, reply) => {
    checkApiKey(request);
    const { id } = request.params;
    const index = deps.sources.findIndex((s) => s.id === id);
    if (index < 0) throw new TracklaneError('E_NOT_FOUND', `no source with id ${id}`);
    if (!(await removeSavedSource(deps.dataDir, id))) {
      throw new TracklaneError(
        'E_BAD_ARGUMENT',
        `source ${id} comes from --write-key / TRACKLANE_WRITE_KEYS: remove it there and restart`,
      );
    }
    deps.sources.splice(index, 1);
    deps.registry.remove(id);
    return reply.code(204).send();
  });
}
