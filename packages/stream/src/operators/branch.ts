import type { Operator } from './operator.ts';

/** One route of `branch`: elements matching `when` are appended to `topic` and leave the stream. */
export interface BranchRoute<T> {
  when: (value: T) => boolean;
  topic: string;
  /** Default: JSON. */
  encode?: (value: T) => Uint8Array;
  /** Default: the key of the source record. */
  key?: (value: T) => string | null;
}

export function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}

/**
 * Routes elements to topics: the first route whose `when` matches takes the element; others continue
 * downstream. Topic outputs are appended at the next checkpoint, before offsets commit (at-least-once:
 * after a crash an element may be appended again; the `source-*` headers let a consumer drop repeats).
 */
export function branchOp<T>(routes: BranchRoute<T>[], name: string): Operator {
  return {
    kind: 'branch',
    name,
    stateless: false,
    compile(next, scope) {
      return (value) => {
        scope.stage = name;
        for (const route of routes) {
          if (route.when(value as T)) {
            scope.pendingTopic.push({
              topic: route.topic,
              key: route.key ? route.key(value as T) : scope.record.key,
              value: (route.encode ?? encodeJson)(value as T),
              headers: sourceHeaders(scope.record),
            });
            return;
          }
        }
        next(value);
      };
    },
  };
}

export function sourceHeaders(record: {
  topic: string;
  partition: number;
  offset: number;
}): Record<string, string> {
  return {
    'source-topic': record.topic,
    'source-partition': String(record.partition),
    'source-offset': String(record.offset),
  };
}
