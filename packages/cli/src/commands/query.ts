import { type Command, InvalidArgumentError, Option } from 'commander';
import { type ApiOptions, addApiOptions, callApiJson } from '../api-client.ts';
import { parseDuration } from '../parse-duration.ts';
import { printTable } from '../print-table.ts';

interface CommonOptions extends ApiOptions {
  from: string;
  to: string;
  tz?: string;
  where?: Filter[];
  json: boolean;
}

interface Filter {
  property: string;
  operator: string;
  value?: string | number;
}

/**
 * `tracklane query <trends|funnel|retention|paths|web>`: the analytics API from the terminal, against the
 * running server, printed as tables (or --json).
 */
export function registerQuery(program: Command): void {
  const query = program
    .command('query')
    .description('ask the running server analytics questions (trends, funnel, retention, paths, web)');

  common(query.command('trends').description('count / unique users / sum / avg of an event per interval'))
    .requiredOption('-e, --event <name>', 'event name (track name, or $pageview, $identify, ...)')
    .addOption(
      new Option('-i, --interval <interval>', 'bucket size')
        .choices(['minute', 'hour', 'day', 'week', 'month'])
        .default('day'),
    )
    .addOption(
      new Option('-m, --measure <measure>', 'what to compute')
        .choices(['count', 'unique_users', 'sum', 'avg'])
        .default('count'),
    )
    .option('-p, --property <name>', 'numeric property for sum / avg')
    .option('-b, --breakdown <property>', 'one series per value of this property')
    .action(async (o: CommonOptions & Record<string, string | undefined>) => {
      const result = await callApiJson<{
        series: { breakdown: string | null; total: number; data: { bucket: string; value: number }[] }[];
      }>(o, 'POST', '/api/trends', {
        ...body(o),
        event: o.event,
        interval: o.interval,
        measure: o.measure,
        ...(o.property === undefined ? {} : { property: o.property }),
        ...(o.breakdown === undefined ? {} : { breakdown: o.breakdown }),
      });
      if (o.json) return printJson(result);
      const buckets = result.series[0]?.data.map((d) => d.bucket) ?? [];
      printTable(
        [
          'bucket',
          ...result.series.map((s) => (o.breakdown === undefined ? String(o.measure) : String(s.breakdown))),
        ],
        [
          ...buckets.map((bucket, i) => [bucket, ...result.series.map((s) => s.data[i]!.value)]),
          ['total', ...result.series.map((s) => s.total)],
        ],
      );
    });

  common(query.command('funnel').description('conversion through ordered steps'))
    .requiredOption('-s, --steps <events>', 'comma-separated event names, in order', list)
    .option('-w, --window <duration>', 'conversion window, e.g. 1d, 36h', parseDuration)
    .addOption(
      new Option('--order <order>', 'step order').choices(['ordered', 'strict', 'any']).default('ordered'),
    )
    .option('-b, --breakdown <property>', 'property of the first step to split by')
    .action(
      async (o: CommonOptions & { steps: string[]; window?: number; order: string; breakdown?: string }) => {
        const result = await callApiJson<{
          breakdowns: {
            breakdown: string | null;
            steps: {
              event: string;
              count: number;
              conversionRate: number;
              medianSecondsFromPrevious: number | null;
            }[];
          }[];
        }>(o, 'POST', '/api/funnels', {
          ...body(o),
          steps: o.steps.map((event) => ({ event })),
          order: o.order,
          ...(o.window === undefined ? {} : { conversionWindowSeconds: Math.round(o.window / 1000) }),
          ...(o.breakdown === undefined ? {} : { breakdown: o.breakdown }),
        });
        if (o.json) return printJson(result);
        printTable(
          ['breakdown', 'step', 'event', 'people', 'conversion', 'median s from previous'],
          result.breakdowns.flatMap((b) =>
            b.steps.map((s, i) => [
              b.breakdown ?? '',
              i + 1,
              s.event,
              s.count,
              `${(s.conversionRate * 100).toFixed(1)}%`,
              s.medianSecondsFromPrevious,
            ]),
          ),
        );
      },
    );

  common(query.command('retention').description('cohorts by first event, returning on another'))
    .requiredOption('--start-event <name>', 'cohort = period of the first occurrence of this event')
    .requiredOption('--return-event <name>', 'what counts as coming back')
    .addOption(
      new Option('--period <period>', 'cohort size').choices(['day', 'week', 'month']).default('week'),
    )
    .action(async (o: CommonOptions & { startEvent: string; returnEvent: string; period: string }) => {
      const result = await callApiJson<{ cohorts: { cohort: string; size: number; values: number[] }[] }>(
        o,
        'POST',
        '/api/retention',
        { ...body(o), startEvent: o.startEvent, returnEvent: o.returnEvent, period: o.period },
      );
      if (o.json) return printJson(result);
      const width = Math.max(1, ...result.cohorts.map((c) => c.values.length));
      printTable(
        ['cohort', 'size', ...Array.from({ length: width - 1 }, (_, k) => `${o.period} ${k + 1}`)],
        result.cohorts.map((c) => [
          c.cohort,
          c.size,
          ...c.values.slice(1).map((v) => `${v} (${((v / c.size) * 100).toFixed(0)}%)`),
        ]),
      );
    });

  common(query.command('paths').description('most common next / previous events or pages'))
    .requiredOption('-a, --anchor <name>', 'event name, or page path with --kind pages')
    .addOption(new Option('--kind <kind>', 'what a step is').choices(['events', 'pages']).default('events'))
    .addOption(
      new Option('--direction <direction>', 'after or before').choices(['next', 'previous']).default('next'),
    )
    .option('--depth <n>', 'steps per path (1-5)', positiveInt, 1)
    .action(async (o: CommonOptions & { anchor: string; kind: string; direction: string; depth: number }) => {
      const result = await callApiJson<{ paths: { steps: string[]; count: number; people: number }[] }>(
        o,
        'POST',
        '/api/paths',
        { ...body(o), anchor: o.anchor, kind: o.kind, direction: o.direction, depth: o.depth },
      );
      if (o.json) return printJson(result);
      printTable(
        ['path', 'times', 'people'],
        result.paths.map((p) => [
          (o.direction === 'next' ? [o.anchor, ...p.steps] : [...p.steps].reverse().concat(o.anchor)).join(
            ' → ',
          ),
          p.count,
          p.people,
        ]),
      );
    });

  common(query.command('web').description('visitors, sessions, bounce rate, top pages, referrers, devices'))
    .option('--limit <n>', 'rows per top list', positiveInt, 10)
    .action(async (o: CommonOptions & { limit: number }) => {
      const result = await callApiJson<Record<string, unknown>>(o, 'POST', '/api/web-stats', {
        ...body(o),
        limit: o.limit,
      });
      if (o.json) return printJson(result);
      printTable(
        ['visitors', 'sessions', 'pageviews', 'bounce rate', 'avg session s'],
        [[result.visitors, result.sessions, result.pageviews, result.bounceRate, result.avgSessionSeconds]],
      );
      const pages = result.topPages as { path: string; pageviews: number; visitors: number }[];
      printTable(
        ['page', 'pageviews', 'visitors'],
        pages.map((p) => [p.path, p.pageviews, p.visitors]),
      );
      for (const [key, title] of [
        ['referrers', 'referrer'],
        ['utmCampaigns', 'campaign'],
        ['devices', 'device'],
        ['browsers', 'browser'],
        ['countries', 'country'],
      ] as const) {
        const ranked = result[key] as { value: string; sessions: number; visitors: number }[];
        if (ranked.length > 0)
          printTable(
            [title, 'sessions', 'visitors'],
            ranked.map((r) => [r.value, r.sessions, r.visitors]),
          );
      }
    });
}

function common(command: Command): Command {
  return addApiOptions(command)
    .option('--from <time>', 'start: ISO date-time, or a duration ago like 7d', '7d')
    .option('--to <time>', 'end (exclusive): ISO date-time, or a duration ago; default now')
    .option('--tz <zone>', 'IANA time zone for buckets, e.g. Europe/Paris (default UTC)')
    .option(
      '--where <filter>',
      'filter (repeatable): prop=value, prop!=value, prop>n, prop>=n, prop<n, prop<=n, prop~text, prop? (is set)',
      collectFilter,
    )
    .option('--json', 'print the raw JSON answer', false);
}

function body(o: CommonOptions): Record<string, unknown> {
  return {
    from: instant(o.from, '--from'),
    to: o.to === undefined ? new Date().toISOString() : instant(o.to, '--to'),
    ...(o.tz === undefined ? {} : { timezone: o.tz }),
    ...(o.where === undefined ? {} : { filters: o.where }),
  };
}

function instant(value: string, flag: string): string {
  if (/^\d+[mhdw]$/.test(value)) return new Date(Date.now() - parseDuration(value)).toISOString();
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new InvalidArgumentError(`${flag}: expected an ISO date-time or a duration like 7d`);
  return new Date(ms).toISOString();
}

const OPERATORS: Record<string, string> = {
  '=': 'eq',
  '!=': 'neq',
  '>=': 'gte',
  '<=': 'lte',
  '>': 'gt',
  '<': 'lt',
  '~': 'contains',
};

function collectFilter(value: string, previous: Filter[] | undefined): Filter[] {
  let filter: Filter;
  const set = /^([^=!<>~?]+)\?$/.exec(value);
  const match = /^([^=!<>~?]+)(!=|>=|<=|=|>|<|~)(.*)$/.exec(value);
  if (set !== null) filter = { property: set[1]!.trim(), operator: 'is_set' };
  else if (match !== null) {
    const raw = match[3]!;
    const numeric = raw.trim() !== '' && Number.isFinite(Number(raw));
    filter = {
      property: match[1]!.trim(),
      operator: OPERATORS[match[2]!]!,
      value: numeric ? Number(raw) : raw,
    };
  } else {
    throw new InvalidArgumentError(
      'expected prop=value, prop!=value, prop>n, prop>=n, prop<n, prop<=n, prop~text or prop?',
    );
  }
  return [...(previous ?? []), filter];
}

function list(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length < 2) throw new InvalidArgumentError('give at least two comma-separated steps');
  return items;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
