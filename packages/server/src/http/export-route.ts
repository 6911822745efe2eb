import { TracklaneError } from '@tracklane/core';
import type { Store } from '@tracklane/storage';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * `GET /api/events/export?from=ISO&to=ISO` streams raw events as NDJSON (one stored row per line). The
 * server never writes files on a client's behalf: `tracklane export` turns this stream into Parquet on the
 * client's side, so the store keeps external access off.
 */
export function registerExportRoute(
  app: FastifyInstance,
  store: Store,
  checkApiKey: (request: FastifyRequest) => void,
): void {
  app.get<{ Querystring: { from?: string; to?: string } }>('/api/events/export', async (request, reply) => {
    checkApiKey(request);
    const from = parseInstant(request.query.from, 'from');
    const to = parseInstant(request.query.to, 'to');
    // The total lets the client show progress; the scan that follows reads the same committed data plus
    // whatever arrives meanwhile, so it is an estimate.
    const counted = await store.query(
      'SELECT count(*) FROM events WHERE timestamp >= CAST($1 AS TIMESTAMP) AND timestamp < CAST($2 AS TIMESTAMP)',
      { params: [utc(from ?? 0), utc(to ?? Date.UTC(9999, 0, 1))] },
    );
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, {
      'content-type': 'application/x-ndjson',
      'cache-control': 'no-store',
      'x-total-events': String(counted.rows[0]?.[0] ?? 0),
    });
    let closed = false;
    out.on('close', () => {
      closed = true;
    });
    try {
      for await (const batch of store.scanEvents({ from, to }, 5_000)) {
        if (closed) break;
        let chunk = '';
        for (const row of batch) chunk += `${JSON.stringify(row)}\n`;
        if (!out.write(chunk)) {
          await new Promise((resolve) => {
            out.once('drain', resolve);
            out.once('close', resolve);
          });
        }
      }
    } catch (err) {
      request.log.error({ reqId: request.id, err }, 'export stream failed');
      // Headers are gone; a truncated body without the end marker tells the client it failed.
      out.destroy(err as Error);
      return;
    }
    out.end('{"$end":true}\n');
  });
}

function parseInstant(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new TracklaneError('E_VALIDATION', `${field} must be an ISO date or date-time`, {
      fields: [{ path: `/${field}`, message: 'must be an ISO date or date-time' }],
    });
  }
  return ms;
}

function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, -1);
}
