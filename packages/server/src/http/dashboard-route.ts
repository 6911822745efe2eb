import fastifyStatic from '@fastify/static';
import { BUILD_COMMAND, builtDashboard } from '@tracklane/dashboard';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Paths that belong to the API or the collector: an unknown one is a JSON 404, never the dashboard. */
const NOT_DASHBOARD = /^\/(api|v1|i|e|batch|capture|decide|com\.snowplowanalytics|metrics|health|demo)(\/|$)/;

/**
 * Serves the built dashboard at `/`. Vite names every asset by content hash, so `/assets/*` is cached for a
 * year; index.html is revalidated on every load so a new build is picked up at once. Unknown extension-less
 * GET paths get index.html too (a deep link still opens the app); missing files stay 404.
 */
export async function registerDashboardRoute(app: FastifyInstance): Promise<void> {
  const dir = builtDashboard();
  if (dir === undefined) {
    app.get('/', (_request, reply) =>
      reply
        .code(503)
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(NOT_BUILT_PAGE),
    );
    return;
  }
  // serve: false: the routes below decide what is served; the plugin only adds reply.sendFile.
  await app.register(fastifyStatic, { root: dir, serve: false });
  const sendIndex = (reply: FastifyReply) =>
    reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
  app.get('/', (_request, reply) => sendIndex(reply));
  app.get('/assets/*', (request: FastifyRequest<{ Params: { '*': string } }>, reply) =>
    reply.sendFile(`assets/${request.params['*']}`, { maxAge: '365d', immutable: true }),
  );
  app.get('/*', (request: FastifyRequest<{ Params: { '*': string } }>, reply) => {
    const path = `/${request.params['*']}`;
    if (NOT_DASHBOARD.test(path)) return reply.callNotFound();
    // Other files of the build (favicon.svg): short cache, their names do not change between builds.
    if (/\.[a-z0-9]+$/i.test(path)) return reply.sendFile(path.slice(1), { maxAge: '1h' });
    return sendIndex(reply);
  });
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tracklane: dashboard not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}code{background:#eee;padding:.1rem .3rem;border-radius:4px}</style>
</head><body><h1>The dashboard is not built yet</h1>
<p>Tracklane is running: the collector and the API work. To see the dashboard here, build it once and reload:</p>
<p><code>${BUILD_COMMAND}</code></p>
<p>(<code>npm start</code> does this for you when the build is missing.)</p></body></html>
`;
