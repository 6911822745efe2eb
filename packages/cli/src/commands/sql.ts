import type { Command } from 'commander';
import { type ApiOptions, addApiOptions, callApiJson } from '../api-client.ts';
import { printTable } from '../print-table.ts';

/** `tracklane sql "SELECT ..."`: read-only SQL against the running server, printed as a table. */
export function registerSql(program: Command): void {
  addApiOptions(
    program
      .command('sql')
      .description(
        'run one read-only SELECT on the running server (tables: events, identities, sessions, ...)',
      )
      .argument('<query>', 'the SELECT statement'),
  )
    .option('--max-rows <n>', 'row limit (1-100000)', (v) => Number(v), 1_000)
    .option('--json', 'print the raw JSON answer', false)
    .action(async (sql: string, o: ApiOptions & { maxRows: number; json: boolean }) => {
      const result = await callApiJson<{ columns: string[]; rows: unknown[][]; truncated: boolean }>(
        o,
        'POST',
        '/api/sql',
        { sql, maxRows: o.maxRows },
      );
      if (o.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      printTable(result.columns, result.rows);
      process.stdout.write(
        `${result.rows.length} row(s)${result.truncated ? ' (truncated: raise --max-rows)' : ''}\n`,
      );
    });
}
