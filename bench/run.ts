/**
 * `npm run bench [-- --quick] [-- <workload name filter>...]`
 * Runs every workload in bench/workloads/ and prints each figure beside a baseline measured in the same run.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import type { BenchContext, BenchResult, Workload } from './result.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
    json: { type: 'string' },
  },
});

const workloadDir = fileURLToPath(new URL('./workloads/', import.meta.url));
const files = (await readdir(workloadDir)).filter((f) => f.endsWith('.ts')).sort();
const workloads: Workload[] = [];
for (const file of files) {
  const module = (await import(join(workloadDir, file))) as { default: Workload };
  workloads.push(module.default);
}

if (values.help) {
  process.stdout.write(
    [
      'usage: npm run bench -- [--quick] [--json FILE] [workload ...]',
      '  --quick      small sizes, for a smoke run',
      '  --json FILE  also write the results as JSON',
      '',
      'workloads:',
      ...workloads.map((w) => `  ${w.name.padEnd(20)} ${w.description}`),
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const selected = workloads.filter(
  (w) => positionals.length === 0 || positionals.some((p) => w.name.includes(p)),
);
if (selected.length === 0) {
  process.stderr.write(`no workload matches ${positionals.join(' ')}; run with --help to list them\n`);
  process.exit(1);
}

const results: BenchResult[] = [];
for (const workload of selected) {
  const tmpDir = await mkdtemp(join(process.cwd(), '.bench-tmp-'));
  const bar = new cliProgress.SingleBar(
    {
      format: `${workload.name.padEnd(18)} {bar} {percentage}% {label}`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const context: BenchContext = {
    tmpDir,
    quick: values.quick,
    progress(label, done, total) {
      if (!process.stderr.isTTY) return;
      if (!started) {
        bar.start(total, done, { label });
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, { label });
    },
  };
  try {
    results.push(...(await workload.run(context)));
  } finally {
    if (started) bar.stop();
    await rm(tmpDir, { recursive: true, force: true });
  }
  printResults(results.filter((r) => r.workload === workload.name));
}

if (values.json !== undefined) {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(values.json, `${JSON.stringify(results, null, 2)}\n`);
}

function printResults(rows: BenchResult[]): void {
  for (const r of rows) {
    const goal =
      r.goal === undefined
        ? ''
        : r.ratio >= r.goal
          ? `  goal >= ${r.goal}: met`
          : `  goal >= ${r.goal}: NOT met`;
    process.stdout.write(
      `${r.workload} | ${r.name}: ${format(r.value)} ${r.unit} | baseline ${r.baseline.name}: ${format(r.baseline.value)} ${r.unit} | ratio ${r.ratio.toFixed(2)}${goal}\n`,
    );
    for (const [key, value] of Object.entries(r.extra ?? {})) {
      process.stdout.write(`    ${key}: ${typeof value === 'number' ? format(value) : value}\n`);
    }
  }
}

function format(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
}
