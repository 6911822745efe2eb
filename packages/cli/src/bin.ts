#!/usr/bin/env -S node --import tsx
import { isTracklaneError } from '@tracklane/core';
import { buildProgram } from './program.ts';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  // Expected failures (bad config, locked data dir, port in use) get one clear line, not a stack trace.
  const code = isTracklaneError(err) ? err.code : (err as NodeJS.ErrnoException).code;
  process.stderr.write(`tracklane: ${(err as Error).message}${code ? ` (${code})` : ''}\n`);
  process.exit(1);
}
