/**
 * Collector HTTP throughput against a real `tracklane start`, beside two baselines measured in the same run
 * with the same load generator (autocannon, loopback): nginx answering `return 204` (the ceiling of an
 * HTTP server that does nothing) and bare `node:http` that JSON-parses the body and answers 204 (what
 * Node itself costs). nginx is installed from Debian when missing.
 */
import { type ChildProcess, execSync, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, startTracklaneProcess, waitFor } from '@tracklane/test-utils';
import autocannon from 'autocannon';
import type { BenchContext, BenchResult, Workload } from '../result.ts';

const WRITE_KEY = 'wk_bench';
const AUTH = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
const BATCH = 50;

const single = JSON.stringify({
  event: 'Product Viewed',
  userId: 'user-123',
  properties: { sku: 'sku-1', price: 19.99, currency: 'EUR' },
  context: { page: { url: 'https://shop.example/p/1?utm_source=bench' } },
});
// No messageIds: every request carries new events, as in real traffic (a repeated id would be deduped).
const batch = JSON.stringify({
  batch: Array.from({ length: BATCH }, (_, i) => ({
    type: 'track',
    event: `Event ${i % 5}`,
    anonymousId: `anon-${i}`,
    properties: { n: i, plan: 'pro' },
    timestamp: '2026-01-01T00:00:00.000Z',
  })),
});

interface Run {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

async function load(url: string, body: string, seconds: number, path: string): Promise<Run> {
  const result = await autocannon({
    url: `${url}${path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: AUTH },
    body,
    connections: 32,
    pipelining: 1,
    duration: seconds,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors,
  };
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

async function startNginx(dir: string): Promise<{ url: string; stop(): void } | undefined> {
  try {
    execSync('command -v nginx', { stdio: 'ignore' });
  } catch {
    try {
      execSync('apt-get install -y nginx-light || (apt-get update && apt-get install -y nginx-light)', {
        stdio: 'ignore',
      });
    } catch {
      return undefined;
    }
  }
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log; daemon off;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; location / { return 204; } } }`,
  );
  const child = spawn('nginx', ['-p', dir, '-c', conf], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(url);
  return { url, stop: () => child.kill('SIGTERM') };
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

const workload: Workload = {
  name: 'collector',
  description:
    'collector HTTP: single events req/s and 50-event batches events/s vs nginx and bare node:http',
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const seconds = ctx.quick ? 3 : 10;
    const nginx = await startNginx(ctx.tmpDir);
    const bare = await startBareNode();
    // Rate limits off: the benchmark measures throughput, not the limiter.
    const tracklane = await startTracklaneProcess({
      dataDir: join(ctx.tmpDir, 'data'),
      writeKey: WRITE_KEY,
      extraArgs: ['--rate-limit-key', '0', '--rate-limit-ip', '0'],
    });
    try {
      ctx.progress('nginx', 0, 6);
      const nginxSingle =
        nginx === undefined ? undefined : await load(nginx.url, single, seconds, '/v1/track');
      ctx.progress('node:http', 1, 6);
      const bareSingle = await load(bare.url, single, seconds, '/v1/track');
      const bareBatch = await load(bare.url, batch, seconds, '/v1/batch');
      ctx.progress('tracklane', 3, 6);
      // Warm-up: JIT, the log's first segments, DuckDB's first writes.
      await load(tracklane.url, single, 2, '/v1/track');
      const tlSingle = await load(tracklane.url, single, seconds, '/v1/track');
      const tlBatch = await load(tracklane.url, batch, seconds, '/v1/batch');
      ctx.progress('done', 6, 6);
      const singleBase = nginxSingle ?? bareSingle;
      return [
        {
          workload: 'collector',
          name: 'single events (POST /v1/track, 32 connections, durable append)',
          value: tlSingle.rps,
          unit: 'req/s',
          baseline: {
            name: nginxSingle ? 'nginx return 204' : 'node:http JSON parse + 204 (nginx unavailable)',
            value: singleBase.rps,
          },
          ratio: tlSingle.rps / singleBase.rps,
          goal: 0.25,
          extra: {
            'tracklane p50/p99 ms': `${tlSingle.p50} / ${tlSingle.p99}`,
            'baseline p50/p99 ms': `${singleBase.p50} / ${singleBase.p99}`,
            'node:http JSON parse + 204 req/s': Math.round(bareSingle.rps),
            'tracklane non-2xx': tlSingle.non2xx,
          },
        },
        {
          workload: 'collector',
          name: `batched events (POST /v1/batch, ${BATCH} events per request, durable append)`,
          value: tlBatch.rps * BATCH,
          unit: 'events/s',
          baseline: { name: 'node:http JSON parse + 204', value: bareBatch.rps * BATCH },
          ratio: tlBatch.rps / bareBatch.rps,
          goal: 0.5,
          extra: {
            'tracklane p50/p99 ms': `${tlBatch.p50} / ${tlBatch.p99}`,
            'baseline p50/p99 ms': `${bareBatch.p50} / ${bareBatch.p99}`,
            'tracklane non-2xx': tlBatch.non2xx,
          },
        },
      ];
    } finally {
      nginx?.stop();
      bare.child.kill('SIGTERM');
      await tracklane.stop();
    }
  },
};

export default workload;
