import type { Operator } from './operator.ts';

export function mapOp<T, U>(fn: (value: T) => U, name: string): Operator {
  return {
    kind: 'map',
    name,
    stateless: true,
    compile(next, scope) {
      return (value) => {
        scope.stage = name;
        next(fn(value as T));
      };
    },
  };
}
