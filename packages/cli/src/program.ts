import { Command } from 'commander';
import { registerDeadLetters } from './commands/dead-letters.ts';
import { registerErase } from './commands/erase.ts';
import { registerExport } from './commands/export.ts';
import { registerQuery } from './commands/query.ts';
import { registerReplay } from './commands/replay.ts';
import { registerSql } from './commands/sql.ts';
import { registerStart } from './commands/start.ts';
import { registerRole } from './run-role.ts';

export function buildProgram(): Command {
  const program = new Command('tracklane')
    .description('Tracklane: self-hosted event tracking and real-time processing')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');
  registerStart(program);
  registerRole(program, 'collector');
  registerRole(program, 'processor');
  registerRole(program, 'api');
  registerDeadLetters(program);
  registerQuery(program);
  registerSql(program);
  registerExport(program);
  registerErase(program);
  registerReplay(program);
  return program;
}
