/**
 * CPU time per event of the collector's ingest path, without HTTP: JSON.parse of a Segment body, then
 * `ingest()` (validation, dedup, enrichment, serialisation, and the append to a real embedded log with its
 * fdatasync), 16 requests in flight. CPU time (process.cpuUsage: user + system, all threads), not
 * wall-clock, so a busy shared machine blurs the figures less than req/s.
 *
 *   node --import tsx packages/collector/test/perf/ingest-cpu.ts [--rounds 3] [--events 100000]
 *     [--prefill 1000000] [--checksizes] [name=/path/to/a/checkout ...]
 *
 * Each named checkout (default: this one, as "here") runs in a child process of its own (one tree's heap
 * and GC do not weigh on another's), and the children take turns, round after round, so load drifting
 * on the machine weighs on all of them alike; the median of the rounds is printed. `--prefill` fills the
 * dedup index first (a collector that has run a while holds its maximum of keys, and every new key evicts
 * one). To compare with an older commit: `git worktree add /tmp/old <commit>` (with node_modules linked).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SELF = fileURLToPath(import.meta.url);
const HERE = resolve(SELF, '../../../../..');
const IN_FLIGHT = 16;
const BATCH = 50;

type Kind = 'single' | 'batch';
interface Run {
  kind: Kind;
  events: number;
}

/** Bodies as the collector benchmark sends them (bench/workloads/collector-http.ts), ids unique per call. */
function singleBody(id: string): string {
  return JSON.stringify({
    event: 'Product Viewed',
    userId: `user-${id}`,
    messageId: id,
    properties: { sku: 'sku-1', price: 19.99, currency: 'EUR' },
    context: { page: { url: 'https://shop.example/p/1?utm_source=bench' } },
  });
}

function batchBody(id: string): string {
  return JSON.stringify({
    batch: Array.from({ length: BATCH }, (_, i) => ({
      type: 'track',
      event: `Event ${i % 5}`,
      anonymousId: `anon-${i}`,
      messageId: `${id}-${i}`,
      properties: { n: i, plan: 'pro' },
      timestamp: '2026-01-01T00:00:00.000Z',
    })),
  });
}

/** The child: one checkout's collector on a temp dir, answering runs with CPU microseconds per event. */
async function child(name: string, root: string, prefill: number, checkSizes: boolean): Promise<void> {
  const src = join(root, 'packages/collector/src');
  // Imported by path from the checkout under test, so two checkouts can be compared side by side.
  const { EmbeddedLog } = await import(join(root, 'packages/log/src/index.ts'));
  const { openCollector } = await import(join(src, 'open-collector.ts'));
  const { ingest } = await import(join(src, 'ingest.ts'));
  const { SourceRegistry } = await import(join(src, 'sources.ts'));
  const { segmentBatch, segmentSingle } = await import(join(src, 'protocols/segment.ts'));
  const dir = mkdtempSync(join(tmpdir(), `ingest-cpu-${name}-`));
  const log = await EmbeddedLog.open(join(dir, 'log'));
  await log.ensureTopic('events', { partitions: 4 });
  const collector = await openCollector({
    log,
    sources: new SourceRegistry([{ id: 'src_bench', name: 'bench', writeKey: 'wk_bench' }]),
    stateDir: join(dir, 'state'),
    options: { rateLimitPerKey: 0, rateLimitPerIp: 0 },
  });
  const source = { id: 'src_bench', name: 'bench' };
  const started = Date.now();
  for (let i = 0; i < prefill; i++) collector.context.dedup.add(`src_bench prefill-${i}`, started);
  let seq = 0;
  const requests = async (kind: Kind, count: number) => {
    for (let r = 0; r < count; r++) {
      const id = `${name}-${seq++}`;
      const now = Date.now();
      const facts = {
        ip: '127.0.0.1',
        userAgent: undefined,
        receivedAt: new Date(now).toISOString(),
        receivedAtMs: now,
        sentAt: undefined,
      };
      const candidates =
        kind === 'single'
          ? segmentSingle(JSON.parse(singleBody(id)), 'track')
          : segmentBatch(JSON.parse(batchBody(id)));
      const prefix = kind === 'single' ? undefined : '/batch';
      await ingest(collector.context, source, candidates, prefix, facts, 'segment', checkSizes);
    }
  };
  const run = async ({ kind, events }: Run): Promise<number> => {
    const perRequest = kind === 'single' ? 1 : BATCH;
    const each = Math.ceil(events / perRequest / IN_FLIGHT);
    const before = process.cpuUsage();
    await Promise.all(Array.from({ length: IN_FLIGHT }, () => requests(kind, each)));
    const used = process.cpuUsage(before);
    return (used.user + used.system) / (each * IN_FLIGHT * perRequest);
  };
  await run({ kind: 'single', events: 5_000 });
  await run({ kind: 'batch', events: 50_000 });
  process.send?.('ready');
  process.on('message', (message: Run | 'close') => {
    if (message === 'close') {
      void collector
        .close()
        .then(() => log.close())
        .then(() => {
          rmSync(dir, { recursive: true, force: true });
          process.exit(0);
        });
      return;
    }
    void run(message).then((us) => process.send?.(us));
  });
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      rounds: { type: 'string', default: '3' },
      events: { type: 'string', default: '100000' },
      prefill: { type: 'string', default: '1000000' },
      checksizes: { type: 'boolean', default: false },
      child: { type: 'string' },
    },
  });
  const prefill = Number(values.prefill);
  if (values.child !== undefined) {
    const [name, root] = values.child.split('=') as [string, string];
    await child(name, root, prefill, values.checksizes);
    return;
  }
  const trees = positionals.length === 0 ? [`here=${HERE}`] : positionals;
  const children = trees.map((tree) => {
    const args = ['--child', tree, '--prefill', String(prefill)];
    if (values.checksizes) args.push('--checksizes');
    const process = fork(SELF, args, { execArgv: ['--import', 'tsx'] });
    const ready = new Promise<void>((resolve) => process.once('message', () => resolve()));
    return { name: tree.split('=')[0]!, process, ready };
  });
  await Promise.all(children.map((c) => c.ready));
  const ask = (c: (typeof children)[number], run: Run) =>
    new Promise<number>((resolve) => {
      c.process.once('message', (us) => resolve(us as number));
      c.process.send(run);
    });
  const figures = new Map(children.map((c) => [c.name, { single: [] as number[], batch: [] as number[] }]));
  const events = Number(values.events);
  for (let round = 0; round < Number(values.rounds); round++) {
    const order = round % 2 === 0 ? children : [...children].reverse();
    for (const c of order) {
      figures.get(c.name)!.single.push(await ask(c, { kind: 'single', events: events / 10 }));
      figures.get(c.name)!.batch.push(await ask(c, { kind: 'batch', events }));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(2);
  for (const [name, f] of figures) {
    console.log(
      `${name}: single ${median(f.single)} us/event (${f.single.map((x) => x.toFixed(1)).join(', ')}); ` +
        `batch of ${BATCH} ${median(f.batch)} us/event (${f.batch.map((x) => x.toFixed(2)).join(', ')})`,
    );
  }
  for (const c of children) {
    c.process.send('close');
    await new Promise((resolve) => c.process.once('exit', resolve));
  }
}

await main();
