import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TracklaneError } from '@tracklane/core';
import { DEFAULT_CONFIG, sourceIdFor } from '@tracklane/server';
import { type Command, Option } from 'commander';

interface ReplayOptions {
  url: string;
  apiKey?: string;
  dataDir: string;
  writeKey?: string[];
  reason?: string;
  dryRun: boolean;
}

const CHUNK = 100;

/**
 * `tracklane dead-letters replay`: re-submits events the collector rejected (stage 'collector') through
 * the running server's normal path, validation and tracking plan included, after whatever made them fail
 * was fixed. Every dead letter carries a messageId, so replaying twice stores an event once. Rows stay in
 * `dead_letters` as history; events that fail again become new dead letters.
 */
export function registerDeadLetters(program: Command): void {
  const group = program.command('dead-letters').description('inspect and replay rejected events');
  group
    .command('replay')
    .description('re-submit rejected events through validation (run after fixing the cause)')
    .addOption(
      new Option('--url <url>', 'the running server')
        .env('TRACKLANE_URL')
        .default(`http://127.0.0.1:${DEFAULT_CONFIG.port}`),
    )
    .addOption(
      new Option('-k, --api-key <key>', 'API key (default: from the data dir)').env('TRACKLANE_API_KEY'),
    )
    .addOption(
      new Option('-d, --data-dir <dir>', 'where saved keys are read from')
        .env('TRACKLANE_DATA_DIR')
        .default(DEFAULT_CONFIG.dataDir),
    )
    .addOption(
      new Option('-w, --write-key <key>', 'write key of a source to replay (repeatable; default: saved keys)')
        .env('TRACKLANE_WRITE_KEYS')
        .argParser((value: string, previous: string[] | undefined) => [
          ...(previous ?? []),
          ...value.split(','),
        ]),
    )
    .option('--reason <text>', 'only dead letters whose reason contains this text')
    .option('--dry-run', 'count what would be replayed, send nothing', false)
    .action(async (options: ReplayOptions) => {
      const saved = await readSavedKeys(options.dataDir);
      const apiKey = options.apiKey ?? saved.apiKeys[0];
      if (apiKey === undefined)
        throw new TracklaneError('E_CONFIG', 'no API key: pass --api-key or --data-dir');
      const keyBySource = new Map<string, string>();
      for (const s of saved.sources) keyBySource.set(s.id, s.writeKey);
      for (const key of options.writeKey ?? [])
        if (key.trim() !== '') keyBySource.set(sourceIdFor(key.trim()), key.trim());

      const where = ["stage = 'collector'"];
      if (options.reason !== undefined)
        where.push(`reason LIKE '%${options.reason.replaceAll("'", "''").replaceAll('%', '')}%'`);
      const rows = await sql(
        options.url,
        apiKey,
        `SELECT payload, source_id FROM dead_letters WHERE ${where.join(' AND ')} ORDER BY failed_at`,
      );
      const bySource = new Map<string, unknown[]>();
      let unparseable = 0;
      for (const [payload, sourceId] of rows as [string, string][]) {
        let event: unknown;
        try {
          event = JSON.parse(payload);
        } catch {
          unparseable++;
          continue;
        }
        const list = bySource.get(sourceId) ?? [];
        list.push(event);
        bySource.set(sourceId, list);
      }
      let accepted = 0;
      let rejected = 0;
      let skipped = unparseable;
      for (const [sourceId, events] of bySource) {
        const writeKey = keyBySource.get(sourceId);
        if (writeKey === undefined) {
          process.stderr.write(
            `skipping ${events.length} dead letter(s) of ${sourceId}: no write key for it (pass --write-key)\n`,
          );
          skipped += events.length;
          continue;
        }
        if (options.dryRun) {
          accepted += events.length;
          continue;
        }
        for (let i = 0; i < events.length; i += CHUNK) {
          const chunk = events.slice(i, i + CHUNK);
          const result = await send(options.url, writeKey, chunk);
          rejected += result.rejected;
          accepted += chunk.length - result.rejected;
        }
      }
      process.stdout.write(
        `${options.dryRun ? 'would replay' : 'replayed'} ${accepted + rejected} dead letter(s): ${accepted} accepted, ` +
          `${rejected} rejected again, ${skipped} skipped\n`,
      );
    });
}

async function readSavedKeys(
  dataDir: string,
): Promise<{ sources: { id: string; writeKey: string }[]; apiKeys: string[] }> {
  try {
    const parsed = JSON.parse(await readFile(join(dataDir, 'keys.json'), 'utf8'));
    return { sources: parsed.sources ?? [], apiKeys: parsed.apiKeys ?? [] };
  } catch {
    return { sources: [], apiKeys: [] };
  }
}

async function sql(url: string, apiKey: string, query: string): Promise<unknown[][]> {
  const response = await fetch(`${url}/api/sql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ sql: query, maxRows: 100_000 }),
  });
  const body = (await response.json()) as { rows?: unknown[][]; error?: { message: string } };
  if (response.status !== 200 || body.rows === undefined) {
    throw new TracklaneError(
      'E_BAD_ARGUMENT',
      `reading dead letters failed (${response.status}): ${body.error?.message ?? ''}`,
    );
  }
  return body.rows;
}

async function send(url: string, writeKey: string, batch: unknown[]): Promise<{ rejected: number }> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
      },
      body: JSON.stringify({ batch }),
    });
    const body = (await response.json()) as { rejected?: unknown[]; error?: { message: string } };
    if (response.status === 200) return { rejected: body.rejected?.length ?? 0 };
    if (response.status === 400) return { rejected: batch.length };
    if ((response.status === 429 || response.status === 503) && attempt < 10) {
      await new Promise((r) => setTimeout(r, 1_000 * Number(response.headers.get('retry-after') ?? 1)));
      continue;
    }
    throw new TracklaneError(
      'E_BAD_ARGUMENT',
      `replay failed (${response.status}): ${body.error?.message ?? ''}`,
    );
  }
}
