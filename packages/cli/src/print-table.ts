import Table from 'cli-table3';

/** Prints rows as a boxed table (cli-table3); cells are shown as text. */
export function printTable(head: string[], rows: unknown[][]): void {
  // Colours only on a terminal, so piped output and tests see plain text; no rules between rows.
  const colour = process.stdout.isTTY === true;
  const table = new Table({
    head,
    style: { head: colour ? ['cyan'] : [], border: colour ? ['grey'] : [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const row of rows) table.push(row.map(cell));
  process.stdout.write(`${table.toString()}\n`);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : value.toFixed(4).replace(/0+$/, '');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
