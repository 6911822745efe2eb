import {
  type DeploymentConfig,
  loadDeploymentConfig,
  type RoleName,
  type RunningRole,
  startApiRole,
  startCollectorRole,
  startProcessorRole,
} from '@tracklane/server';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { exitOnSignals } from './exit-on-signals.ts';

const STARTERS: Record<RoleName, (config: DeploymentConfig) => Promise<RunningRole>> = {
  collector: startCollectorRole,
  processor: startProcessorRole,
  api: startApiRole,
};

const DESCRIPTIONS: Record<RoleName, string> = {
  collector: 'ingestion only (collector routes, /health, /metrics) onto a shared NATS or Kafka log',
  processor: 'storage writer, dead-letter writer and built-in pipelines; any number share the partitions',
  api: 'the HTTP API and the dashboard over the configured store',
};

interface RoleOptions {
  config: string;
  port?: number;
  dataDir?: string;
}

/** `tracklane collector|processor|api --config FILE`: one role of the split topology. */
export function registerRole(program: Command, role: RoleName): void {
  program
    .command(role)
    .description(DESCRIPTIONS[role])
    .addOption(
      new Option('-c, --config <file>', 'JSON config file (see docs/scaling-out.md)')
        .env('TRACKLANE_CONFIG')
        .default('tracklane.config.json'),
    )
    .addOption(
      new Option('-p, --port <port>', `HTTP port; overrides ${role}.port in the config`).argParser(parsePort),
    )
    .addOption(
      new Option('-d, --data-dir <dir>', "this process's own state dir; overrides dataDir in the config"),
    )
    .action(async (options: RoleOptions) => {
      const loaded = await loadDeploymentConfig(options.config);
      const config: DeploymentConfig = {
        ...loaded,
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        [role]: { ...loaded[role], ...(options.port === undefined ? {} : { port: options.port }) },
      };
      const running = await STARTERS[role](config);
      // Before the banner: whoever waits for it may signal at once.
      exitOnSignals(running, role);
      process.stdout.write(
        `tracklane ${role} (${config.log.kind} log, ${config.store.kind} store) ${running.url === undefined ? 'running (no HTTP)' : `at ${running.url}`}\n`,
      );
    });
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError('expected a port number from 0 to 65535');
  }
  return port;
}
