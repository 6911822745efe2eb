import { DEFAULT_CONFIG, maskSecret, startTracklane, type TracklaneConfig } from '@tracklane/server';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { addCollectorFlags, type CollectorFlags, collectorConfigFrom } from '../collector-flags.ts';
import { exitOnSignals } from '../exit-on-signals.ts';
import { parseDuration } from '../parse-duration.ts';

export function registerStart(program: Command): void {
  const command = program
    .command('start')
    .description('run the whole pipeline in one process: collector, durable log, storage, API')
    .addOption(
      new Option('-p, --port <port>', 'HTTP port')
        .env('TRACKLANE_PORT')
        .argParser(parsePort)
        .default(DEFAULT_CONFIG.port),
    )
    .addOption(
      new Option('--host <host>', 'interface to bind (0.0.0.0 to expose)')
        .env('TRACKLANE_HOST')
        .default(DEFAULT_CONFIG.host),
    )
    .addOption(
      new Option('-d, --data-dir <dir>', 'where the log, the database and the keys live')
        .env('TRACKLANE_DATA_DIR')
        .default(DEFAULT_CONFIG.dataDir),
    )
    .addOption(
      new Option(
        '-w, --write-key <key>',
        'accept events with this write key (repeatable; env: comma-separated)',
      )
        .env('TRACKLANE_WRITE_KEYS')
        .argParser(collectKeys),
    )
    .addOption(
      new Option('-k, --api-key <key>', 'API key for /api (default: generated and saved)').env(
        'TRACKLANE_API_KEY',
      ),
    )
    .addOption(
      new Option('--log-level <level>', 'log verbosity')
        .env('TRACKLANE_LOG_LEVEL')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default(DEFAULT_CONFIG.logLevel),
    )
    .addOption(
      new Option(
        '--retention <duration>',
        'delete raw events, and sessions, per-minute/hour/day counts and dead letters, older than this, e.g. 400d or 36h (default: keep)',
      )
        .env('TRACKLANE_RETENTION')
        .argParser(parseDuration),
    )
    .addOption(new Option('--demo', 'serve an instrumented demo site at /demo/').env('TRACKLANE_DEMO'))
    .addOption(new Option('--no-pipelines', 'do not run the built-in stream pipelines'))
    .addOption(
      new Option(
        '--stream-workers <n>',
        'worker threads for the built-in pipelines, sharing the partitions (0: main thread; default min(2, cores - 1))',
      )
        .env('TRACKLANE_STREAM_WORKERS')
        .argParser(workerCount),
    )
    .addOption(
      new Option(
        '--export-dir <dir>',
        'also write each closed UTC day as Parquet here (date=YYYY-MM-DD/)',
      ).env('TRACKLANE_EXPORT_DIR'),
    );
  addCollectorFlags(command).action(
    async (
      options: {
        port: number;
        host: string;
        dataDir: string;
        writeKey?: string[];
        apiKey?: string;
        logLevel: TracklaneConfig['logLevel'];
        retention?: number;
        exportDir?: string;
        demo?: boolean;
        pipelines: boolean;
        streamWorkers?: number;
      } & CollectorFlags,
    ) => {
      const running = await startTracklane({
        ...DEFAULT_CONFIG,
        port: options.port,
        host: options.host,
        dataDir: options.dataDir,
        writeKeys: options.writeKey ?? [],
        apiKey: options.apiKey,
        logLevel: options.logLevel,
        retentionMs: options.retention,
        demo: options.demo === true,
        pipelines: options.pipelines,
        streamWorkers: options.streamWorkers,
        exportDir: options.exportDir,
        collector: collectorConfigFrom(options),
      });
      const writeKey = running.keys.sources[0]!.writeKey;
      const apiKey = running.keys.apiKeys[0]!;
      // Before the banner: whoever reads 'Ctrl-C to stop.' may press it at once.
      exitOnSignals(running, 'tracklane');
      // Keys are printed once, to the terminal, and in full only when just generated: the operator needs
      // them; keys the operator passed in are already known and are masked.
      process.stdout.write(
        [
          `Tracklane is running at ${running.url}`,
          `  dashboard  ${running.url}/ (sign in with the API key)`,
          `  data dir   ${running.dataDir}`,
          `  write key  ${running.keys.generated.writeKey ? writeKey : maskSecret(writeKey)}`,
          `  API key    ${running.keys.generated.apiKey ? apiKey : maskSecret(apiKey)}`,
          '',
          'Send an event:',
          `  curl -u '${running.keys.generated.writeKey ? writeKey : '<write key>'}:' ${running.url}/v1/batch -H 'content-type: application/json' \\`,
          `    -d '{"batch":[{"type":"track","event":"Hello","userId":"me"}]}'`,
          ...(options.demo === true
            ? [`Demo site: ${running.url}/demo/ (click around, then query the events)`]
            : []),
          'Ctrl-C to stop.',
          '',
        ].join('\n'),
      );
    },
  );
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError('expected a port number from 0 to 65535');
  }
  return port;
}

function collectKeys(value: string, previous: string[] | undefined): string[] {
  const keys = value
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
  return [...(previous ?? []), ...keys];
}

function workerCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number >= 0');
  return n;
}
