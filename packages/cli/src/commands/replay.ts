import { DEFAULT_CONFIG, replayProjection } from '@tracklane/server';
import { BUILTIN_PIPELINES } from '@tracklane/stream';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';

/** `tracklane replay --pipeline NAME [--from OFFSET|ISO-TIME]`: rebuild a projection from the log. */
export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('rebuild a built-in projection from the log into a fresh table and swap it in atomically')
    .addOption(
      new Option('-p, --pipeline <name>', 'the projection to rebuild')
        .choices(BUILTIN_PIPELINES.map((p) => p.name))
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--from <offset|time>',
        'start at this offset (every partition) or ISO-8601 event time',
      ).argParser(parseFrom),
    )
    .addOption(
      new Option('-d, --data-dir <dir>', 'data dir of a stopped tracklane')
        .env('TRACKLANE_DATA_DIR')
        .default(DEFAULT_CONFIG.dataDir),
    )
    .action(async (options: { pipeline: string; from?: number | Date; dataDir: string }) => {
      const bar = new cliProgress.SingleBar(
        { format: `replay ${options.pipeline} {bar} {percentage}% | {value}/{total} records | eta {eta}s` },
        cliProgress.Presets.shades_classic,
      );
      let started = false;
      const result = await replayProjection({
        dataDir: options.dataDir,
        pipeline: options.pipeline,
        ...(options.from === undefined ? {} : { from: options.from }),
        onProgress({ done, total }) {
          if (!started) {
            bar.start(total, 0);
            started = true;
          }
          bar.setTotal(total);
          bar.update(done);
        },
      });
      if (started) bar.stop();
      process.stdout.write(
        `rebuilt ${result.table} from ${result.records} record(s)` +
          ` (${result.late} late, ${result.deadLettered} dead-lettered) and swapped it in\n`,
      );
    });
}

function parseFrom(value: string): number | Date {
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError('expected an offset (e.g. 0) or an ISO-8601 time');
  return new Date(ms);
}
