import type { Operator } from './operator.ts';

export function flatMapOp<T, U>(fn: (value: T) => Iterable<U>, name: string): Operator {
  return {
    kind: 'flatMap',
    name,
    stateless: true,
    compile(next, scope) {
      return (value) => {
        scope.stage = name;
        const out = fn(value as T);
        if (Array.isArray(out)) {
          for (let i = 0; i < out.length; i++) next(out[i]);
        } else {
          for (const item of out) next(item);
        }
      };
    },
  };
}
