import { TracklaneError } from '@tracklane/core';

/**
 * `consumer`: KIP-848 (Kafka >= 4.0), the broker assigns and moves partitions one by one, members never
 * stop the world. `classic`: JoinGroup/SyncGroup, with our sticky assignor. `auto`: `consumer` when the
 * broker offers it, else `classic`.
 */
export type GroupProtocol = 'consumer' | 'classic' | 'auto';

export const GROUP_PROTOCOLS: readonly GroupProtocol[] = ['auto', 'consumer', 'classic'];

/** Kafka's API key of ConsumerGroupHeartbeat, the KIP-848 group API. */
export const CONSUMER_GROUP_HEARTBEAT = 68;
/** The ConsumerGroupHeartbeat versions @platformatic/kafka 1.35 implements. */
const CLIENT_VERSIONS = { min: 0, max: 1 } as const;

export interface AdvertisedApi {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/** Refuses anything but the three protocol names, before any connection is made. */
export function assertGroupProtocol(value: unknown): asserts value is GroupProtocol {
  if (!GROUP_PROTOCOLS.includes(value as GroupProtocol)) {
    throw new TracklaneError(
      'E_CONFIG',
      `groupProtocol must be one of ${GROUP_PROTOCOLS.map((p) => `'${p}'`).join(', ')}, got '${String(value)}'`,
    );
  }
}

/**
 * Picks the protocol from the broker's ApiVersions answer. A broker advertises ConsumerGroupHeartbeat only
 * when its group coordinator serves the KIP-848 protocol (Kafka 4.x by default); the advertised range must
 * also overlap the versions the client speaks.
 */
export function chooseGroupProtocol(
  requested: GroupProtocol,
  apis: readonly AdvertisedApi[],
  brokers: string,
): 'consumer' | 'classic' {
  assertGroupProtocol(requested);
  if (requested === 'classic') return 'classic';
  const heartbeat = apis.find((a) => a.apiKey === CONSUMER_GROUP_HEARTBEAT);
  const usable =
    heartbeat !== undefined &&
    heartbeat.minVersion <= CLIENT_VERSIONS.max &&
    heartbeat.maxVersion >= CLIENT_VERSIONS.min;
  if (usable) return 'consumer';
  if (requested === 'auto') return 'classic';
  const offered = heartbeat
    ? `offers ConsumerGroupHeartbeat v${heartbeat.minVersion}-${heartbeat.maxVersion}, the client speaks v${CLIENT_VERSIONS.min}-${CLIENT_VERSIONS.max}`
    : 'does not offer ConsumerGroupHeartbeat (API key 68)';
  throw new TracklaneError(
    'E_CONFIG',
    `groupProtocol 'consumer' needs the KIP-848 group protocol, but the broker at ${brokers} ${offered}; ` +
      `use Kafka >= 4.0 (or enable group.coordinator.rebalance.protocols=classic,consumer), or set groupProtocol to 'auto' or 'classic'`,
  );
}
