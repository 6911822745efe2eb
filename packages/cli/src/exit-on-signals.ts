/**
 * SIGINT/SIGTERM close `running` cleanly and exit 0 (1 if closing fails); a second signal exits at once
 * with 130. Install before printing anything a caller may wait for: a signal sent as soon as the banner is
 * read must find the handler there.
 */
export function exitOnSignals(running: { close(): Promise<void> }, what: string): void {
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) {
      process.stderr.write('forced exit\n');
      process.exit(130);
    }
    signalled = true;
    process.stderr.write(`${signal}: ${what} shutting down cleanly (Ctrl-C again to force)...\n`);
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
