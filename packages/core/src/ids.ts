import { randomBytes, randomUUID } from 'node:crypto';

export function newMessageId(): string {
  return randomUUID();
}

/** Secrets carry a readable prefix so a leaked one is recognisable (and greppable) in a secret scanner. */
export function newSecret(prefix: 'wk' | 'ak'): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`;
}
