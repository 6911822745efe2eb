import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TracklaneError } from '@tracklane/core';
import { DEFAULT_CONFIG } from '@tracklane/server';
import { type Command, Option } from 'commander';

export interface ApiOptions {
  url: string;
  apiKey?: string;
  dataDir: string;
}

/** --url, --api-key, --data-dir: how every client command reaches the running server. */
export function addApiOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--url <url>', 'the running server')
        .env('TRACKLANE_URL')
        .default(`http://127.0.0.1:${DEFAULT_CONFIG.port}`),
    )
    .addOption(
      new Option('-k, --api-key <key>', 'API key (default: the one saved in the data dir)').env(
        'TRACKLANE_API_KEY',
      ),
    )
    .addOption(
      new Option('-d, --data-dir <dir>', 'where the saved API key is read from')
        .env('TRACKLANE_DATA_DIR')
        .default(DEFAULT_CONFIG.dataDir),
    );
}

/** Calls the server's API; server errors come back as TracklaneErrors with the server's code and message. */
export async function callApi(
  options: ApiOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  const apiKey = options.apiKey ?? (await savedApiKey(options.dataDir));
  let response: Response;
  try {
    response = await fetch(new URL(path, options.url), {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new TracklaneError(
      'E_NOT_READY',
      `cannot reach Tracklane at ${options.url} (${(err as Error).message}): is \`tracklane start\` running? (--url, TRACKLANE_URL)`,
      { cause: err },
    );
  }
  if (!response.ok) {
    const text = await response.text();
    let error: { code?: string; message?: string; fields?: { path: string; message: string }[] } = {};
    try {
      error = (JSON.parse(text) as { error?: typeof error }).error ?? {};
    } catch {
      // Not our JSON error body (a proxy page, say): report the status and text as they are.
    }
    const fields = error.fields?.map((f) => `\n  ${f.path}: ${f.message}`).join('') ?? '';
    throw new TracklaneError(
      (error.code as TracklaneError['code'] | undefined) ?? 'E_BAD_ARGUMENT',
      `${error.message ?? `HTTP ${response.status}: ${text.slice(0, 200)}`}${fields}`,
    );
  }
  return response;
}

export async function callApiJson<T>(
  options: ApiOptions,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  return (await (await callApi(options, method, path, body)).json()) as T;
}

async function savedApiKey(dataDir: string): Promise<string> {
  try {
    const saved = JSON.parse(await readFile(join(dataDir, 'keys.json'), 'utf8')) as { apiKeys?: string[] };
    const key = saved.apiKeys?.[0];
    if (key !== undefined) return key;
  } catch {
    // Fall through to the message below: no saved key is the same problem as an unreadable one.
  }
  throw new TracklaneError(
    'E_UNAUTHORIZED',
    `no API key: pass --api-key or set TRACKLANE_API_KEY (none saved in ${join(dataDir, 'keys.json')})`,
  );
}
