import fastifyStatic from '@fastify/static';
import { demoAssets, demoConfigScript } from '@tracklane/demo';
import type { FastifyInstance } from 'fastify';

/**
 * `--demo`: serves the instrumented demo site at `/demo/`, with a generated `/demo/config.js` carrying the
 * first source's write key (write keys are public by design: they ship in every tracked page).
 */
export async function registerDemoRoute(app: FastifyInstance, writeKey: string): Promise<void> {
  const { dir } = await demoAssets();
  const config = demoConfigScript({ writeKey });
  app.get('/demo', (_request, reply) => reply.redirect('/demo/', 301));
  app.get('/demo/config.js', (_request, reply) =>
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(config),
  );
  // decorateReply off: the dashboard registers @fastify/static too, and the reply decorators exist once.
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/demo/',
    decorateReply: false,
    index: 'index.html',
  });
}
