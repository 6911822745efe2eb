import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TracklaneError } from '@tracklane/core';
import type { FastifyInstance } from 'fastify';
import { type Logger, pino } from 'pino';
import type { DeploymentConfig } from './deployment-config.ts';
import { type ResolvedKeys, resolveKeys } from './keys.ts';

export type RoleName = 'collector' | 'processor' | 'api';

export interface RoleContext {
  role: RoleName;
  logger: Logger;
  dataDir: string;
  keys: ResolvedKeys;
}

/** What every role returns: where it listens (if it does) and how to stop it cleanly. */
export interface RunningRole {
  role: RoleName;
  /** Undefined for a processor without a health port. */
  url: string | undefined;
  close(): Promise<void>;
}

/**
 * The part every split role shares: the config is checked for a log several processes can share, the data
 * dir (this process's own: collector dedup state, stream state) is created, and the keys come from the
 * config, never generated, because every collector and API process must accept the same ones.
 */
export async function openRoleContext(config: DeploymentConfig, role: RoleName): Promise<RoleContext> {
  if (config.log.kind === 'embedded') {
    throw new TracklaneError(
      'E_CONFIG',
      `log.kind 'embedded' cannot be used by \`tracklane ${role}\`: the embedded log is locked by one process, ` +
        "and collectors, processors and the API are separate processes; set log.kind to 'nats' or 'kafka', " +
        'or run everything in one process with `tracklane start`',
      { fields: [{ path: '/log/kind', message: "must be 'nats' or 'kafka' for split roles" }] },
    );
  }
  const logger = pino({
    level: config.logLevel,
    base: { role, pid: process.pid },
    redact: ['req.headers.authorization', 'req.headers.cookie', '*.writeKey', '*.apiKey'],
  });
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const keys = await resolveKeys(dataDir, { writeKeys: config.keys.writeKeys, apiKey: config.keys.apiKey });
  return { role, logger, dataDir, keys };
}

/** Listens and returns the URL the server answers on (the real port when asked for port 0). */
export async function listen(app: FastifyInstance, host: string, port: number): Promise<string> {
  await app.listen({ port, host });
  const address = app.server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : port;
  return `http://${host.includes(':') ? `[${host}]` : host}:${actual}`;
}
