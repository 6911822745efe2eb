import { TracklaneError } from '@tracklane/core';

// One rule for names across every Log, kept in @tracklane/log.
export { validateName } from '@tracklane/log';

const NAMESPACE = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Maps Tracklane topic and group names to Kafka's under an optional namespace (`<ns>.<name>`), so that several
 * installations - or test runs - can share one cluster without seeing each other's topics.
 */
export class Names {
  private readonly prefix: string;

  constructor(namespace: string | undefined) {
    if (namespace !== undefined && !NAMESPACE.test(namespace)) {
      throw new TracklaneError(
        'E_CONFIG',
        `invalid Kafka namespace ${JSON.stringify(namespace)}: use 1-32 characters from A-Z a-z 0-9 _ -`,
      );
    }
    this.prefix = namespace === undefined ? '' : `${namespace}.`;
  }

  topic(name: string): string {
    return this.prefix + name;
  }

  group(name: string): string {
    return this.prefix + name;
  }

  /** The Tracklane name of a Kafka topic, or undefined when it is outside this namespace. */
  fromKafkaTopic(kafkaName: string): string | undefined {
    if (!kafkaName.startsWith(this.prefix)) return undefined;
    return kafkaName.slice(this.prefix.length);
  }
}
