/**
 * Whether a client error carries the given Kafka protocol error (e.g. TOPIC_ALREADY_EXISTS). The client
 * aggregates per-partition errors into one MultipleErrors; findBy searches them all.
 */
export function hasKafkaError(err: unknown, apiId: string): boolean {
  const e = err as { findBy?: (key: string, value: unknown) => unknown; apiId?: string };
  if (e?.apiId === apiId) return true;
  return typeof e?.findBy === 'function' && Boolean(e.findBy('apiId', apiId));
}
