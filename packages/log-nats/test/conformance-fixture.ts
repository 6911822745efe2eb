import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { LogFixture } from '@tracklane/log/conformance';
import { NatsLog } from '../src/index.ts';
import { retryTransient } from '../src/transient.ts';

/**
 * A fresh namespace per test on a shared server: streams and buckets of one test never meet another's,
 * and cleanup deletes exactly them (a server per test would cost seconds on a 3-node cluster).
 */
export function natsFixture(
  servers: () => string[],
  replicas: number,
  fixedNamespace?: string,
): () => Promise<LogFixture> {
  return async () => {
    const namespace = fixedNamespace ?? `t${randomBytes(4).toString('hex')}`;
    return {
      open: () =>
        NatsLog.open({
          servers: servers(),
          namespace,
          replicas,
          retentionCheckIntervalMs: 0,
          sessionTimeoutMs: 3000,
        }),
      cleanup: async () => {
        const nc = await connect({ servers: servers() });
        try {
          const jsm = await jetstreamManager(nc);
          const doomed: string[] = [];
          for await (const name of jsm.streams.names()) {
            if (name.startsWith(`${namespace}_`) || name.startsWith(`KV_${namespace}_`)) doomed.push(name);
          }
          // A delete is a cluster-wide operation; on a loaded machine it can outlast the 5 s request
          // timeout, and a retry then finds the stream already gone.
          await Promise.all(
            doomed.map((name) =>
              retryTransient(() =>
                jsm.streams.delete(name).catch((err: unknown) => {
                  if (!/not found/i.test(String((err as Error).message))) throw err;
                  return true;
                }),
              ),
            ),
          );
        } finally {
          await nc.close();
        }
      },
    };
  };
}
