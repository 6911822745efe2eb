import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SourceWithKey } from '@tracklane/collector';
import { newSecret, TracklaneError } from '@tracklane/core';

/** A source as saved in keys.json; `createdBy: 'api'` marks one made from the dashboard (or the API). */
export interface KeySource extends SourceWithKey {
  createdAt?: string;
  createdBy?: 'api';
}

export interface Keys {
  sources: KeySource[];
  apiKeys: string[];
}

export interface ResolvedKeys extends Keys {
  /** Keys made up by this call (and saved); the only ones worth printing in full. */
  generated: { writeKey: boolean; apiKey: boolean };
}

const KEYS_FILE = 'keys.json';

/**
 * Keys given by the operator win; otherwise keys saved in the data dir are reused, and on first start a
 * write key and an API key are generated and saved there (mode 0600) so restarts keep working.
 */
export async function resolveKeys(
  dataDir: string,
  given: { writeKeys?: string[]; apiKey?: string | undefined },
): Promise<ResolvedKeys> {
  const path = join(dataDir, KEYS_FILE);
  const saved = await readSaved(path);
  let generatedWriteKey = false;
  let generatedApiKey = false;
  let sources: KeySource[];
  if (given.writeKeys !== undefined && given.writeKeys.length > 0) {
    sources = given.writeKeys.map((writeKey, i) => ({
      id: sourceIdFor(writeKey),
      name: `source ${i + 1}`,
      writeKey,
    }));
    // Sources created from the dashboard are the operator's too: they keep working beside given keys.
    for (const source of saved?.sources ?? []) {
      if (source.createdBy === 'api' && !sources.some((s) => s.id === source.id)) sources.push(source);
    }
  } else if (saved !== undefined && saved.sources.length > 0) {
    sources = saved.sources;
  } else {
    const writeKey = newSecret('wk');
    sources = [{ id: sourceIdFor(writeKey), name: 'default', writeKey }];
    generatedWriteKey = true;
  }
  let apiKeys: string[];
  if (given.apiKey !== undefined && given.apiKey.length > 0) apiKeys = [given.apiKey];
  else if (saved !== undefined && saved.apiKeys.length > 0) apiKeys = saved.apiKeys;
  else {
    apiKeys = [newSecret('ak')];
    generatedApiKey = true;
  }
  if (generatedWriteKey || generatedApiKey) {
    const toSave: Keys = {
      sources: generatedWriteKey ? sources : (saved?.sources ?? []),
      apiKeys: generatedApiKey ? apiKeys : (saved?.apiKeys ?? []),
    };
    await writeFile(path, `${JSON.stringify(toSave, null, 2)}\n`, { mode: 0o600 });
  }
  return { sources, apiKeys, generated: { writeKey: generatedWriteKey, apiKey: generatedApiKey } };
}

let saving: Promise<unknown> = Promise.resolve();

/** Read-modify-write of keys.json, one at a time, replaced atomically so a crash never leaves half a file. */
function updateSaved(dataDir: string, change: (keys: Keys) => void): Promise<void> {
  const next = saving.then(async () => {
    const path = join(dataDir, KEYS_FILE);
    const keys = (await readSaved(path)) ?? { sources: [], apiKeys: [] };
    change(keys);
    await writeFile(`${path}.tmp`, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
    await rename(`${path}.tmp`, path);
  });
  saving = next.catch(() => undefined);
  return next;
}

/** Saves a source created at runtime so that it survives restarts. */
export function saveSource(dataDir: string, source: KeySource): Promise<void> {
  return updateSaved(dataDir, (keys) => {
    keys.sources.push(source);
  });
}

/** Removes a saved source; resolves false when keys.json has no source with this id. */
export async function removeSavedSource(dataDir: string, id: string): Promise<boolean> {
  let removed = false;
  await updateSaved(dataDir, (keys) => {
    const before = keys.sources.length;
    keys.sources = keys.sources.filter((s) => s.id !== id);
    removed = keys.sources.length < before;
  });
  return removed;
}

/** Ids of the sources saved in keys.json: the ones a running server may revoke. */
export async function savedSourceIds(dataDir: string): Promise<Set<string>> {
  const saved = await readSaved(join(dataDir, KEYS_FILE));
  return new Set((saved?.sources ?? []).map((s) => s.id));
}

/** A stable, non-secret id for a source: the same key always maps to the same `source_id`. */
export function sourceIdFor(writeKey: string): string {
  return `src_${createHash('sha256').update(writeKey).digest('base64url').slice(0, 12)}`;
}

async function readSaved(path: string): Promise<Keys | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<Keys>;
    return { sources: parsed.sources ?? [], apiKeys: parsed.apiKeys ?? [] };
  } catch (err) {
    throw new TracklaneError(
      'E_CONFIG',
      `${path} is not valid JSON: fix it or delete it to generate new keys`,
      {
        cause: err,
      },
    );
  }
}

/** `wk_abcd…` : enough to recognise a key in output without revealing it. */
export function maskSecret(secret: string): string {
  return secret.length <= 8 ? '********' : `${secret.slice(0, 6)}…`;
}
