import type { Table } from '../state/table.ts';
import type { Operator } from './operator.ts';

/**
 * Stream-table join: each element is combined with the table's value for its key as of the element's
 * event time and log position (undefined if none), not with whatever the table holds when the element
 * happens to be processed. That is what makes a replay join every element as the first run did; see
 * `Table` for the one case it cannot cover.
 */
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
      const at = { ts: 0, topic: '', partition: 0, offset: 0 };
      return (value) => {
        scope.stage = name;
        at.ts = scope.ts;
        at.topic = scope.record.topic;
        at.partition = scope.record.partition;
        at.offset = scope.record.offset;
        next(join(value as T, table.asOf(key(value as T), at)));
      };
    },
  };
}
