/**
 * Collector HTTP throughput, beside two baselines measured in the same run with the same load generator
 * (loopback, 32 connections): nginx answering `return 204` (the ceiling of an HTTP server that does
 * nothing) and bare `node:http` that JSON-parses the body and answers 204 (what Node itself costs).
 *
 * Two Tracklane figures:
 * - ingest: the collector as `tracklane collector` runs it (`serveCollector`), on the embedded log, with no
 *   processors in its process: every 2xx still means the events are fsynced in the log. This is how
 *   collectors are usually benchmarked (the collector writing to its broker); processors catch up later.
 * - whole pipeline: a real `tracklane start`, where the storage writer (DuckDB), the dead-letter writer
 *   and the stream pipelines share the two cores with the collector and the load generator.
 *
 * The ingest figures run in rounds (3; 1 with --quick) that interleave each baseline with the figure it is
 * compared to, and the round with the median ratio is reported, so load drifting on a shared machine weighs
 * on both sides. The whole-pipeline figures run once, after.
 *
 * The load generator is wrk (Debian's, installed when missing; one thread), because autocannon, being
 * JavaScript, saturates a core before nginx does; `BENCH_LOADGEN=autocannon` uses autocannon instead.
 * nginx is installed from Debian when missing.
 *
 * Run as a script (`node --import tsx collector-http.ts serve-ingest DIR PORT KEY`) this file is the
 * ingest-only server the workload starts as a child process.
 */
import { type ChildProcess, execSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedLog } from '@tracklane/log';
import { serveCollector, sourceIdFor } from '@tracklane/server';
import { freePort, startTracklaneProcess, waitFor } from '@tracklane/test-utils';
import autocannon from 'autocannon';
import { pino } from 'pino';
import type { BenchContext, BenchResult, Workload } from '../result.ts';

const WRITE_KEY = 'wk_bench';
const AUTH = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
const BATCH = 50;
const CONNECTIONS = 32;
const SELF = fileURLToPath(import.meta.url);

/**
 * Request bodies as real SDKs send them: every event carries its own messageId (so the collector's dedup
 * index is consulted and written, as in production), and single events come from many users (so they
 * spread over the `events` partitions as real traffic does). `@ID@` is replaced by a value unique to each
 * request, by the load generator, for the baselines too.
 */
const ID = '@ID@';
const single = JSON.stringify({
  event: 'Product Viewed',
  userId: `user-${ID}`,
  messageId: ID,
  properties: { sku: 'sku-1', price: 19.99, currency: 'EUR' },
  context: { page: { url: 'https://shop.example/p/1?utm_source=bench' } },
});
const batch = JSON.stringify({
  batch: Array.from({ length: BATCH }, (_, i) => ({
    type: 'track',
    event: `Event ${i % 5}`,
    anonymousId: `anon-${i}`,
    messageId: `${ID}-${i}`,
    properties: { n: i, plan: 'pro' },
    timestamp: '2026-01-01T00:00:00.000Z',
  })),
});

interface Run {
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** CPU time (user + system, all threads) the server process spent per request; less sensitive to a
   * busy machine than req/s. Undefined where /proc is not available. */
  cpuUsPerRequest?: number | undefined;
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU of a process so far, in microseconds, from /proc (Linux). */
function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Runs a load and adds the server's CPU time per request. */
async function loadMeasured(
  load: LoadGenerator,
  pid: number | undefined,
  url: string,
  body: string,
  seconds: number,
  path: string,
): Promise<Run> {
  const before = cpuMicros(pid);
  const run = await load(url, body, seconds, path);
  const after = cpuMicros(pid);
  const requests = run.requests;
  if (before !== undefined && after !== undefined && requests > 0)
    run.cpuUsPerRequest = (after - before) / requests;
  return run;
}

type LoadGenerator = (url: string, body: string, seconds: number, path: string) => Promise<Run>;

/** A prefix per load run, so ids never repeat across the warm-up and measured runs on one server. */
let runs = 0;
function runPrefix(): string {
  runs++;
  return `${process.pid}-${runs}-`;
}

async function autocannonLoad(url: string, body: string, seconds: number, path: string): Promise<Run> {
  const parts = body.split(ID);
  const prefix = runPrefix();
  let n = 0;
  const result = await autocannon({
    url: `${url}${path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: AUTH },
    requests: [
      {
        setupRequest: (request) => {
          n++;
          request.body = parts.join(`${prefix}${n}`);
          return request;
        },
      },
    ],
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
  });
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors,
  };
}

/**
 * wrk with a Lua script that builds each POST body from the template's pieces around `@ID@` (one
 * table.concat per request) and prints its summary as one JSON line.
 */
function wrkLoad(dir: string): LoadGenerator {
  let n = 0;
  return async (url, body, seconds, path) => {
    n++;
    const bodyFile = join(dir, `wrk-body-${n}.json`);
    const script = join(dir, `wrk-${n}.lua`);
    await writeFile(bodyFile, body);
    await writeFile(
      script,
      `wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "${AUTH}"
local f = io.open("${bodyFile}", "rb"); local template = f:read("*a"); f:close()
local parts, from = {}, 1
while true do
  local s, e = string.find(template, "${ID}", from, true)
  if s == nil then break end
  parts[#parts + 1] = string.sub(template, from, s - 1)
  from = e + 1
end
local last = string.sub(template, from)
local prefix, n = "${runPrefix()}", 0
request = function()
  n = n + 1
  local id, t = prefix .. n, {}
  for i = 1, #parts do t[2 * i - 1] = parts[i]; t[2 * i] = id end
  t[#t + 1] = last
  return wrk.format(nil, nil, nil, table.concat(t))
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"us":%d,"p50":%d,"p99":%d,"non2xx":%d}\\n', summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
`,
    );
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        'wrk',
        ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', script, `${url}${path}`],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}: ${text}`)),
      );
    });
    const line = output.split('\n').find((l) => l.startsWith('{"requests"'));
    if (line === undefined) throw new Error(`wrk printed no summary:\n${output}`);
    const r = JSON.parse(line) as { requests: number; us: number; p50: number; p99: number; non2xx: number };
    return {
      rps: r.requests / (r.us / 1e6),
      requests: r.requests,
      p50: r.p50 / 1000,
      p99: r.p99 / 1000,
      non2xx: r.non2xx,
    };
  };
}

function installed(command: string, debianPackage: string): boolean {
  try {
    execSync(`command -v ${command}`, { stdio: 'ignore' });
    return true;
  } catch {
    try {
      execSync(
        `apt-get install -y ${debianPackage} || (apt-get update && apt-get install -y ${debianPackage})`,
        { stdio: 'ignore' },
      );
      return true;
    } catch {
      return false;
    }
  }
}

async function waitHttp(url: string): Promise<void> {
  await waitFor(
    async () => {
      await fetch(url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      return true;
    },
    { timeoutMs: 30_000, what: url },
  );
}

async function startNginx(
  dir: string,
): Promise<{ url: string; pid: number | undefined; stop(): void } | undefined> {
  if (!installed('nginx', 'nginx-light')) return undefined;
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `worker_processes 1; master_process off; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log; daemon off;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; location / { return 204; } } }`,
  );
  const child = spawn('nginx', ['-p', dir, '-c', conf], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(url);
  return { url, pid: child.pid, stop: () => child.kill('SIGTERM') };
}

async function startBareNode(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const script = `require('node:http').createServer((req, res) => { const chunks = []; req.on('data', (c) => chunks.push(c));
    req.on('end', () => { try { JSON.parse(Buffer.concat(chunks).toString()); res.statusCode = 204; } catch { res.statusCode = 400; } res.end(); });
  }).listen(${port}, '127.0.0.1');`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(url);
  return { url, child };
}

/** The ingest-only collector (this file run as a script) as a child process. */
async function startIngest(
  dataDir: string,
): Promise<{ url: string; pid: number | undefined; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [...profileArgs(), '--import', 'tsx', SELF, 'serve-ingest', dataDir, String(port), WRITE_KEY],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/health`)).status === 200, {
    timeoutMs: 30_000,
    what: `ingest collector on ${url}`,
  });
  return {
    url,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `BENCH_CPU_PROF=DIR` writes a V8 CPU profile of the ingest server to DIR (for cutting per-event cost). */
function profileArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/** Events the collector acknowledged, from its own Prometheus counter. */
async function acceptedEvents(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('tracklane_events_accepted_total{')) total += Number(line.split(' ').pop());
  }
  return total;
}

async function serveIngest(dataDir: string, port: number, writeKey: string): Promise<void> {
  const log = await EmbeddedLog.open(join(dataDir, 'log'));
  const running = await serveCollector({
    log,
    logger: pino({ level: 'warn' }),
    dataDir,
    sources: [{ id: sourceIdFor(writeKey), name: 'bench', writeKey }],
    // Rate limits off: the benchmark measures throughput, not the limiter.
    options: { rateLimitPerKey: 0, rateLimitPerIp: 0 },
    eventPartitions: 4,
    host: '127.0.0.1',
    port,
  });
  process.once('SIGTERM', () => {
    void running.close().then(() => process.exit(0));
  });
}

interface Figures {
  single: Run;
  batch: Run;
  accepted?: number;
  /** Events in 2xx answers over the same runs as `accepted`. */
  answered?: number;
  /** Ratio of every round, when there were several. */
  ratios?: string;
}

interface Round {
  nginxSingle: Run | undefined;
  bareSingle: Run;
  bareBatch: Run;
  ingest: { single: Run; batch: Run };
}

function medianBy<T>(items: T[], value: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => value(a) - value(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

async function measure(
  load: LoadGenerator,
  url: string,
  pid: number | undefined,
  seconds: number,
): Promise<Figures> {
  // Warm-up: JIT, the log's first segments, DuckDB's first writes.
  await load(url, single, 2, '/v1/track');
  await load(url, batch, 2, '/v1/batch');
  const singleRun = await loadMeasured(load, pid, url, single, seconds, '/v1/track');
  const batchRun = await loadMeasured(load, pid, url, batch, seconds, '/v1/batch');
  return { single: singleRun, batch: batchRun };
}

const workload: Workload = {
  name: 'collector',
  description:
    'collector HTTP: single events req/s and 50-event batches events/s (ingest-only and whole pipeline) vs nginx and bare node:http',
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    // Rounds interleave each baseline with the figure it is compared to, so a machine whose load drifts
    // (shared CI, other work) weighs on both; the round with the median ratio is reported.
    const seconds = ctx.quick ? 3 : 5;
    const rounds = ctx.quick ? 1 : 3;
    const useWrk = process.env.BENCH_LOADGEN !== 'autocannon' && installed('wrk', 'wrk');
    const generator = useWrk ? 'wrk, 1 thread' : 'autocannon';
    const load = useWrk ? wrkLoad(ctx.tmpDir) : autocannonLoad;
    const steps = rounds + 2;
    ctx.progress('starting nginx, node:http, tracklane ingest', 0, steps);
    const nginx = await startNginx(ctx.tmpDir);
    const bare = await startBareNode();
    const ingestServer = await startIngest(join(ctx.tmpDir, 'ingest'));
    const measured: Round[] = [];
    let acceptedDuringRounds: number;
    try {
      await load(ingestServer.url, single, 2, '/v1/track');
      await load(ingestServer.url, batch, 2, '/v1/batch');
      const acceptedBefore = await acceptedEvents(ingestServer.url);
      for (let r = 0; r < rounds; r++) {
        ctx.progress(`round ${r + 1} of ${rounds}`, r + 1, steps);
        const run = (pid: number | undefined, url: string, body: string, path: string) =>
          loadMeasured(load, pid, url, body, seconds, path);
        const nginxSingle =
          nginx === undefined ? undefined : await run(nginx.pid, nginx.url, single, '/v1/track');
        const bareSingle = await run(bare.child.pid, bare.url, single, '/v1/track');
        const ingestSingle = await run(ingestServer.pid, ingestServer.url, single, '/v1/track');
        const bareBatch = await run(bare.child.pid, bare.url, batch, '/v1/batch');
        const ingestBatch = await run(ingestServer.pid, ingestServer.url, batch, '/v1/batch');
        measured.push({
          nginxSingle,
          bareSingle,
          bareBatch,
          ingest: { single: ingestSingle, batch: ingestBatch },
        });
      }
      acceptedDuringRounds = (await acceptedEvents(ingestServer.url)) - acceptedBefore;
    } finally {
      nginx?.stop();
      bare.child.kill('SIGTERM');
      await ingestServer.stop();
    }
    const singleRatio = (r: Round) => r.ingest.single.rps / (r.nginxSingle ?? r.bareSingle).rps;
    const batchRatio = (r: Round) => r.ingest.batch.rps / r.bareBatch.rps;
    const singleRound = medianBy(measured, singleRatio);
    const batchRound = medianBy(measured, batchRatio);
    const { nginxSingle, bareSingle } = singleRound;
    const { bareBatch } = batchRound;
    const ingest: Figures = {
      single: singleRound.ingest.single,
      batch: batchRound.ingest.batch,
      accepted: acceptedDuringRounds,
      answered: measured.reduce(
        (sum, r) =>
          sum +
          (r.ingest.single.requests - r.ingest.single.non2xx) +
          (r.ingest.batch.requests - r.ingest.batch.non2xx) * BATCH,
        0,
      ),
      ratios: `single ${measured.map((r) => singleRatio(r).toFixed(2)).join(', ')}; batch ${measured
        .map((r) => batchRatio(r).toFixed(2))
        .join(', ')}`,
    };

    ctx.progress('tracklane start', rounds + 1, steps);
    const tracklane = await startTracklaneProcess({
      dataDir: join(ctx.tmpDir, 'data'),
      writeKey: WRITE_KEY,
      extraArgs: ['--rate-limit-key', '0', '--rate-limit-ip', '0'],
    });
    let whole: Figures;
    try {
      whole = await measure(load, tracklane.url, tracklane.child.pid, seconds);
    } finally {
      await tracklane.stop();
    }
    ctx.progress('done', steps, steps);

    const singleBase = nginxSingle ?? bareSingle;
    const singleBaseName = nginxSingle
      ? 'nginx return 204'
      : 'node:http JSON parse + 204 (nginx unavailable)';
    const rows = (label: string, f: Figures): BenchResult[] => [
      {
        workload: 'collector',
        name: `${label}: single events (POST /v1/track, ${CONNECTIONS} connections, durable append, ${generator})`,
        value: f.single.rps,
        unit: 'req/s',
        baseline: { name: singleBaseName, value: singleBase.rps },
        ratio: f.single.rps / singleBase.rps,
        goal: 0.25,
        extra: {
          'tracklane p50/p99 ms': `${f.single.p50} / ${f.single.p99}`,
          'baseline p50/p99 ms': `${singleBase.p50} / ${singleBase.p99}`,
          'node:http JSON parse + 204 req/s': Math.round(bareSingle.rps),
          'server CPU us per request (tracklane / baseline / node:http)': cpuPerRequest(
            f.single,
            singleBase,
            bareSingle,
          ),
          'tracklane non-2xx': f.single.non2xx,
        },
      },
      {
        workload: 'collector',
        name: `${label}: batched events (POST /v1/batch, ${BATCH} events per request, durable append, ${generator})`,
        value: f.batch.rps * BATCH,
        unit: 'events/s',
        baseline: { name: 'node:http JSON parse + 204', value: bareBatch.rps * BATCH },
        ratio: f.batch.rps / bareBatch.rps,
        goal: 0.5,
        extra: {
          'tracklane p50/p99 ms': `${f.batch.p50} / ${f.batch.p99}`,
          'baseline p50/p99 ms': `${bareBatch.p50} / ${bareBatch.p99}`,
          'server CPU us per request (tracklane / node:http)': cpuPerRequest(f.batch, bareBatch),
          'tracklane non-2xx': f.batch.non2xx,
          ...(f.ratios === undefined ? {} : { 'ratio per round': f.ratios }),
          ...(f.accepted === undefined
            ? {}
            : {
                'events acknowledged durable, all rounds (collector counter / in 2xx answers wrk saw)': `${f.accepted} / ${f.answered}`,
              }),
        },
      },
    ];
    return [
      ...rows('ingest (collector + embedded log, no processors in its process)', ingest),
      ...rows('whole pipeline (tracklane start)', whole),
    ];
  },
};

function cpuPerRequest(...runs: Run[]): string {
  return runs.map((r) => (r.cpuUsPerRequest === undefined ? '?' : r.cpuUsPerRequest.toFixed(0))).join(' / ');
}

export default workload;

if (process.argv[1] === SELF && process.argv[2] === 'serve-ingest') {
  await serveIngest(process.argv[3]!, Number(process.argv[4]), process.argv[5]!);
}
