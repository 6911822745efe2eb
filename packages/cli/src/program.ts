import { Command } from 'commander';
import { registerDeadLetters } from './commands/dead-letters.ts';
import { registerStart } from './commands/start.ts';

export function buildProgram(): Command {
  const program = new Command('tracklane')
    .description('Tracklane: self-hosted event tracking and real-time processing')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');
  registerStart(program);
  registerDeadLetters(program);
  return program;
}
