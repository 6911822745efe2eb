import { createParser } from 'eventsource-parser';

const KEY_STORAGE = 'tracklane.apiKey';

/** An answer other than 2xx, with the server's error code (`E_UNAUTHORIZED`, `E_VALIDATION`, ...). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Kept per tab (sessionStorage), so closing the tab forgets it; never in localStorage or the URL. */
export function storedApiKey(): string | undefined {
  try {
    return sessionStorage.getItem(KEY_STORAGE) ?? undefined;
  } catch {
    return undefined;
  }
}

export function storeApiKey(key: string | undefined): void {
  try {
    if (key === undefined) sessionStorage.removeItem(KEY_STORAGE);
    else sessionStorage.setItem(KEY_STORAGE, key);
  } catch {
    // Storage disabled: the key lives in memory only, for this page load.
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();
/** Called whenever the server refuses the key (revoked or changed while the dashboard is open). */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export class Api {
  constructor(readonly key: string) {}

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    if (signal !== undefined) init.signal = signal;
    const response = await fetch(path, init);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      if (response.status === 401) for (const l of unauthorizedListeners) l();
      throw new ApiError(
        response.status,
        error?.code ?? `HTTP_${response.status}`,
        error?.message ?? `${method} ${path} answered ${response.status}`,
      );
    }
    return parsed as T;
  }

  post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    return this.request<T>('POST', path, body, signal);
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, undefined, signal);
  }

  /** Rows as objects keyed by column name. */
  async sql<T = Record<string, unknown>>(sql: string, signal?: AbortSignal): Promise<T[]> {
    const result = await this.post<{ columns: string[]; rows: unknown[][] }>('/api/sql', { sql }, signal);
    return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c, row[i]])) as T);
  }

  /**
   * Server-Sent Events over fetch: EventSource cannot send an Authorization header, and the key must
   * not travel in the URL (it would land in access logs). Reconnects after a drop until aborted.
   */
  stream(
    path: string,
    onMessage: (event: string, data: string) => void,
    signal: AbortSignal,
    onState?: (state: 'open' | 'retrying') => void,
  ): void {
    const run = async () => {
      while (!signal.aborted) {
        try {
          const response = await fetch(path, { headers: { authorization: `Bearer ${this.key}` }, signal });
          if (response.status === 401) {
            for (const l of unauthorizedListeners) l();
            return;
          }
          if (!response.ok || response.body === null)
            throw new Error(`live tail answered ${response.status}`);
          onState?.('open');
          const parser = createParser({ onEvent: (m) => onMessage(m.event ?? 'message', m.data) });
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            parser.feed(value);
          }
        } catch {
          if (signal.aborted) return;
        }
        onState?.('retrying');
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
    };
    void run();
  }
}

/** A text value safe inside single quotes in SQL sent to /api/sql (which is read-only anyway). */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
