import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { quoteIdentifier } from '@tracklane/storage';
import { freePort, makeTempDir } from '@tracklane/test-utils';
import pg from 'pg';

/**
 * A real PostgreSQL server for tests: `initdb` into a temp dir, `pg_ctl start` on a free loopback port,
 * stopped (and the dir removed) by `stop()`. Exported as `@tracklane/storage-postgres/testing` for the
 * topology and fault tests. Runs as the `postgres` OS user when we are root, because initdb refuses root.
 */

const run = promisify(execFile);

export interface PgServer {
  port: number;
  /** Superuser connection string for the `postgres` database. */
  url: string;
  /** Creates an empty database; resolves to its superuser connection string. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** The newest `/usr/lib/postgresql/<n>/bin`, or `PG_BIN_DIR`. */
export function pgBinDir(): string | undefined {
  if (process.env.PG_BIN_DIR !== undefined) return process.env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/** Why PostgreSQL tests must skip, or undefined when the server binaries are there. */
export function pgServerMissing(): string | undefined {
  return pgBinDir() === undefined
    ? 'PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (or PG_BIN_DIR); install them with: apt-get install -y postgresql'
    : undefined;
}

export async function startPgServer(): Promise<PgServer> {
  const bin = pgBinDir();
  if (bin === undefined) throw new Error(pgServerMissing());
  const dir = await makeTempDir('tracklane-pg-');
  const asRoot = process.getuid?.() === 0;
  // initdb and postgres refuse to run as root; hand the dir to the postgres user and run as it.
  const command = (tool: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args], { timeout: 60_000 })
      : run(join(bin, tool), args, { timeout: 60_000 });
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir.path, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir.path, 'data');
  const port = await freePort();
  let started = false;
  const stop = async () => {
    if (started) {
      started = false;
      await command('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']).catch(
        () => undefined,
      );
    }
    await dir.remove();
  };
  try {
    await command('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    started = true;
    // fsync off: a test server's data is thrown away, and fsync is most of a small insert's cost.
    await command('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir.path, 'server.log'),
      '-w',
      '-t',
      '30',
      '-o',
      `-p ${port} -k ${dir.path} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
      'start',
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const createDatabase = async (name: string) => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
    } finally {
      await admin.end();
    }
    return url.replace(/\/postgres$/, `/${name}`);
  };
  return { port, url, createDatabase, stop };
}
