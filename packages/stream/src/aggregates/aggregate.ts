/**
 * An aggregate is a mergeable accumulator (a commutative monoid). Mergeability is what the engine relies
 * on: each partition accumulates a delta between checkpoints, and the checkpoint merges the deltas into
 * the stored total in the same transaction that records the consumed offsets.
 *
 * `extract` is the only place user code runs. The engine calls it for every input before touching any
 * state, so a user function that throws leaves the accumulators exactly as they were (and the event can be
 * retried or dead-lettered without being half-counted).
 */
export interface Aggregate<T, A, R> {
  readonly name: string;
  extract(input: T): unknown;
  create(): A;
  /** Adds an extracted value; may mutate `acc` and must return the accumulator to keep. */
  add(acc: A, extracted: unknown): A;
  /** Merges `b` into `a`; may mutate `a` and must return the result. */
  merge(a: A, b: A): A;
  result(acc: A): R;
  /** A JSON-serialisable form of the accumulator for the state store. */
  toJSON(acc: A): unknown;
  fromJSON(json: unknown): A;
}

/** The result type of an aggregate. */
export type ResultOf<G> = G extends Aggregate<never, unknown, infer R> ? R : never;

// biome-ignore lint/suspicious/noExplicitAny: accumulator types differ per field; the mapped result type stays precise
type AnyAggregate<T> = Aggregate<T, any, unknown>;

/** Several aggregates over the same input, computed in one pass: `aggregates({ n: count(), users: hll(...) })`. */
export function aggregates<T, S extends Record<string, AnyAggregate<T>>>(
  spec: S,
): Aggregate<T, unknown[], { [K in keyof S]: ResultOf<S[K]> }> {
  const names = Object.keys(spec);
  const parts = names.map((n) => spec[n]!);
  const count = parts.length;
  return {
    name: `aggregates(${names.join(',')})`,
    extract(input) {
      const out = new Array<unknown>(count);
      for (let i = 0; i < count; i++) out[i] = parts[i]!.extract(input);
      return out;
    },
    create: () => parts.map((p) => p.create()),
    add(acc, extracted) {
      const values = extracted as unknown[];
      for (let i = 0; i < count; i++) acc[i] = parts[i]!.add(acc[i], values[i]);
      return acc;
    },
    merge(a, b) {
      for (let i = 0; i < count; i++) a[i] = parts[i]!.merge(a[i], b[i]);
      return a;
    },
    result(acc) {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < count; i++) out[names[i]!] = parts[i]!.result(acc[i]);
      return out as { [K in keyof S]: ResultOf<S[K]> };
    },
    toJSON: (acc) => acc.map((a, i) => parts[i]!.toJSON(a)),
    fromJSON: (json) => (json as unknown[]).map((j, i) => parts[i]!.fromJSON(j)),
  };
}
