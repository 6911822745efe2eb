import { TracklaneError } from '@tracklane/core';

// One rule for names across every Log, kept in @tracklane/log.
export { validateName } from '@tracklane/log';

const NAMESPACE = /^[A-Za-z0-9_-]{1,32}$/;

export function validateNamespace(namespace: string): void {
  if (!NAMESPACE.test(namespace)) {
    throw new TracklaneError(
      'E_CONFIG',
      `invalid NATS namespace ${JSON.stringify(namespace)}: use 1-32 characters from A-Z a-z 0-9 _ -`,
    );
  }
}

/**
 * One token safe in stream names, subjects and KV keys. '.' separates subject tokens and is forbidden in
 * stream names, so it becomes "_d"; '_' is doubled first so that the mapping stays reversible and distinct
 * names never collide ("a.b" -> "a_db", "a_db" -> "a__db").
 */
export function token(name: string): string {
  return name.replaceAll('_', '__').replaceAll('.', '_d');
}

export function untoken(encoded: string): string {
  return encoded.replace(/_(_|d)/g, (_, c: string) => (c === '_' ? '_' : '.'));
}

/** Where a namespace keeps its things; a namespace lets several installations (or tests) share a cluster. */
export class Names {
  constructor(readonly namespace: string) {
    validateNamespace(namespace);
  }

  /** One stream per partition, so that stream sequence - 1 is the partition offset. */
  stream(topic: string, partition: number): string {
    return `${this.namespace}_${token(topic)}_${partition}`;
  }

  subject(topic: string, partition: number): string {
    return `${this.namespace}.${token(topic)}.${partition}`;
  }

  get topicsBucket(): string {
    return `${this.namespace}_topics`;
  }
  get offsetsBucket(): string {
    return `${this.namespace}_offsets`;
  }
  get membersBucket(): string {
    return `${this.namespace}_members`;
  }
  get ownersBucket(): string {
    return `${this.namespace}_owners`;
  }

  /** Key of a committed offset or a partition claim. */
  partitionKey(group: string, topic: string, partition: number): string {
    return `${token(group)}.${token(topic)}.${partition}`;
  }

  memberKey(group: string, memberId: string): string {
    return `${token(group)}.${memberId}`;
  }

  membersFilter(group: string): string {
    return `${token(group)}.*`;
  }
}
