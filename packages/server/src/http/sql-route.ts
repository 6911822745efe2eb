import { TracklaneError } from '@tracklane/core';
import type { Store } from '@tracklane/storage';
import type { FastifyInstance, FastifyRequest } from 'fastify';

const MAX_SQL_CHARS = 100_000;

/** `POST /api/sql {"sql": "..."}` -> `{columns, rows, truncated}`; read-only, time- and row-limited. */
export function registerSqlRoute(
  app: FastifyInstance,
  store: Store,
  checkApiKey: (request: FastifyRequest) => void,
): void {
  app.post('/api/sql', async (request) => {
    checkApiKey(request);
    const body = request.body as { sql?: unknown; maxRows?: unknown } | undefined;
    const sql = body?.sql;
    if (typeof sql !== 'string' || sql.trim().length === 0) {
      throw new TracklaneError('E_VALIDATION', 'send {"sql": "SELECT ..."}', {
        fields: [{ path: '/sql', message: 'sql must be a non-empty string' }],
      });
    }
    if (sql.length > MAX_SQL_CHARS) {
      throw new TracklaneError('E_VALIDATION', `sql is longer than ${MAX_SQL_CHARS} characters`, {
        fields: [{ path: '/sql', message: 'too long' }],
      });
    }
    const maxRows = body?.maxRows;
    if (
      maxRows !== undefined &&
      (!Number.isInteger(maxRows) || (maxRows as number) < 1 || (maxRows as number) > 100_000)
    ) {
      throw new TracklaneError('E_VALIDATION', 'maxRows must be an integer from 1 to 100000', {
        fields: [{ path: '/maxRows', message: 'must be an integer from 1 to 100000' }],
      });
    }
    return store.query(sql, maxRows === undefined ? {} : { maxRows: maxRows as number });
  });
}
