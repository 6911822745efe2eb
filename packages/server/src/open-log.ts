import { join, resolve } from 'node:path';
import { EmbeddedLog, type Log } from '@tracklane/log';
import type { LogConfig } from './deployment-config.ts';

/**
 * Opens the `Log` a config names. The NATS and Kafka clients are imported only when asked for, so the
 * embedded `tracklane start` does not load them.
 */
export async function openLog(config: LogConfig, dataDir: string, name?: string): Promise<Log> {
  switch (config.kind) {
    case 'embedded':
      return EmbeddedLog.open(resolve(config.dir ?? join(dataDir, 'log')));
    case 'nats': {
      const { NatsLog } = await import('@tracklane/log-nats');
      return NatsLog.open({
        servers: config.servers,
        ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
        ...(config.replicas === undefined ? {} : { replicas: config.replicas }),
        ...(config.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: config.sessionTimeoutMs }),
        ...(name === undefined ? {} : { name }),
      });
    }
    case 'kafka': {
      const { KafkaLog } = await import('@tracklane/log-kafka');
      return KafkaLog.open({
        brokers: config.brokers,
        ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
        ...(config.replicationFactor === undefined ? {} : { replicationFactor: config.replicationFactor }),
        ...(config.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: config.sessionTimeoutMs }),
        ...(config.groupProtocol === undefined ? {} : { groupProtocol: config.groupProtocol }),
        ...(name === undefined ? {} : { clientId: name }),
      });
    }
  }
}
