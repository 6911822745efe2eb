import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, makeTempDir } from '@tracklane/test-utils';

/**
 * A real clickhouse-server for tests: a temp config (loopback, free HTTP and native ports, temp data
 * path), stopped (SIGKILL if SIGTERM is not enough) and removed by `stop()`. Exported as
 * `@tracklane/storage-clickhouse/testing` for the topology and fault tests.
 */

export const CLICKHOUSE_SERVER_BIN =
  process.env.CLICKHOUSE_SERVER_BIN ??
  ['/usr/bin/clickhouse-server', '/usr/sbin/clickhouse-server'].find(existsSync);

/** Why server tests must skip, or undefined when a clickhouse-server binary is there. */
export function clickhouseServerMissing(): string | undefined {
  return CLICKHOUSE_SERVER_BIN === undefined
    ? 'clickhouse-server not found (or CLICKHOUSE_SERVER_BIN); install it with: apt-get install -y clickhouse-server'
    : undefined;
}

export interface ClickHouseServer {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

// <yandex> is the root element old releases require; current releases still accept it.
function config(dir: string, httpPort: number, tcpPort: number): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <user_defined_path>${dir}/user_defined/</user_defined_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>5368709120</mark_cache_size>
</yandex>
`;
}

const USERS = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default></default></quotas>
</yandex>
`;

export async function startClickHouseServer(): Promise<ClickHouseServer> {
  const bin = CLICKHOUSE_SERVER_BIN;
  if (bin === undefined) throw new Error(clickhouseServerMissing());
  const dir = await makeTempDir('tracklane-clickhouse-');
  const httpPort = await freePort();
  const tcpPort = await freePort();
  await mkdir(join(dir.path, 'data'));
  await writeFile(join(dir.path, 'config.xml'), config(dir.path, httpPort, tcpPort));
  await writeFile(join(dir.path, 'users.xml'), USERS);
  let output = '';
  const child: ChildProcess = spawn(bin, [`--config-file=${join(dir.path, 'config.xml')}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: dir.path,
  });
  const append = (chunk: Buffer) => {
    // Bounded: a chatty server must not grow test memory without limit.
    output = (output + chunk.toString()).slice(-64_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await dir.remove();
  };
  const url = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${url}/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`clickhouse-server did not answer on ${url}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, output: () => output, stop };
}
