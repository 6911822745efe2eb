import type { Table } from '../state/table.ts';
import type { Operator } from './operator.ts';

/** Stream-table join: each element is combined with the table's current value for its key (or undefined). */
export function joinTableOp<T, V, U>(
  // biome-ignore lint/suspicious/noExplicitAny: the table's element type does not matter to the join
  table: Table<any, V>,
  key: (value: T) => string | null | undefined,
  join: (value: T, tableValue: V | undefined) => U,
  name: string,
): Operator {
  return {
    kind: 'join',
    name,
    stateless: false,
    compile(next, scope) {
      return (value) => {
        scope.stage = name;
        next(join(value as T, table.get(key(value as T))));
      };
    },
  };
}
