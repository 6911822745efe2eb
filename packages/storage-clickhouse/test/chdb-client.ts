import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { type ChdbConnection, createChdbConnection } from 'chdb/connection';

/**
 * @clickhouse/client on chDB (current ClickHouse, in process) through chdb's Connection hook, so the
 * store's own client code runs unchanged against a current engine without a server.
 *
 * chdb emulates per-query settings with `SET` on its session, so they outlive the query: after one
 * `readonly=1` query the session refuses every later setting. The query client therefore opens a fresh
 * session (same data path) per operation; chdb materializes results, so closing right after is safe.
 */

// createClient's `connection` option is typed against its bundled copy of the Connection interface,
// which chdb's (from @clickhouse/client-common) matches in shape but not in identity.
type ClientConnection = NonNullable<Parameters<typeof createClient>[0]>['connection'];

/** Errors reach the caller as rejections; the client's own error log would repeat expected failures. */
const QUIET = { level: ClickHouseLogLevel.OFF };

export function chdbClient(path: string): ClickHouseClient {
  return createClient({
    connection: createChdbConnection({ path }) as unknown as ClientConnection,
    log: QUIET,
  });
}

export function chdbQueryClient(path: string): ClickHouseClient {
  const fresh = async <T>(use: (c: ChdbConnection) => Promise<T>): Promise<T> => {
    const connection = createChdbConnection({ path });
    try {
      return await use(connection);
    } finally {
      await connection.close();
    }
  };
  const connection: Pick<ChdbConnection, 'query' | 'exec' | 'command' | 'insert' | 'ping' | 'close'> = {
    query: (params) => fresh((c) => c.query(params)),
    exec: (params) => fresh((c) => c.exec(params)),
    command: (params) => fresh((c) => c.command(params)),
    insert: (params) => fresh((c) => c.insert(params)),
    ping: (params) => fresh((c) => c.ping(params)),
    close: async () => undefined,
  };
  return createClient({ connection: connection as unknown as ClientConnection, log: QUIET });
}
