import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on a module, TypeScript included. Tracklane runs its sources through tsx, but
 * Node 20 does not apply the parent's loader hooks to a worker's entry file, so a `.ts` entry is reached
 * through a one-line ESM bootstrap that registers tsx in the worker first.
 */
export function spawnWorker(entry: URL, options: WorkerOptions): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
