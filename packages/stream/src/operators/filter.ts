import type { Operator } from './operator.ts';

export function filterOp<T>(fn: (value: T) => boolean, name: string): Operator {
  return {
    kind: 'filter',
    name,
    stateless: true,
    compile(next, scope) {
      return (value) => {
        scope.stage = name;
        if (fn(value as T)) next(value);
      };
    },
  };
}
