import type { Command } from 'commander';
import { type ApiOptions, addApiOptions, callApiJson } from '../api-client.ts';

/** `tracklane erase --user ID`: right to erasure, through the running server (DELETE /api/users/:id). */
export function registerErase(program: Command): void {
  addApiOptions(
    program
      .command('erase')
      .description("delete a person's events and derived rows for good (tombstoned: replays skip them)"),
  )
    .requiredOption('-u, --user <id>', 'the user id (their stitched anonymous ids go too)')
    .action(async (o: ApiOptions & { user: string }) => {
      const result = await callApiJson<{ ids: string[]; eventsDeleted: number; derivedRowsDeleted: number }>(
        o,
        'DELETE',
        `/api/users/${encodeURIComponent(o.user)}`,
      );
      process.stdout.write(
        `erased ${o.user}: ${result.eventsDeleted} event(s), ${result.derivedRowsDeleted} derived row(s); tombstoned ids: ${result.ids.join(', ')}\n`,
      );
    });
}
