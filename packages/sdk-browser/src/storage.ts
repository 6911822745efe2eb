/** Where identity lives on the device. Every access is guarded: Safari private mode, disabled cookies and
 * sandboxed iframes throw on storage access, and tracking must never break the page. */
export interface KV {
  get(key: string): string | null;
  set(key: string, value: string): void;
  del(key: string): void;
}

export type Persistence = 'localStorage' | 'cookie' | 'memory';

export function memoryKV(): KV {
  const m = new Map<string, string>();
  return { get: (k) => m.get(k) ?? null, set: (k, v) => void m.set(k, v), del: (k) => void m.delete(k) };
}

export function localStorageKV(): KV | undefined {
  try {
    const s = localStorage;
    s.setItem('tl_probe', '1');
    s.removeItem('tl_probe');
    return {
      get: (k) => s.getItem(k),
      set: (k, v) => {
        try {
          s.setItem(k, v);
        } catch {
          // Quota exceeded: identity still works in memory for this page.
        }
      },
      del: (k) => s.removeItem(k),
    };
  } catch {
    return undefined;
  }
}

/** First-party cookie, one year, SameSite=Lax; `domain` lets sibling subdomains share the anonymous id. */
export function cookieKV(domain?: string): KV | undefined {
  if (typeof document === 'undefined' || !navigator.cookieEnabled) return undefined;
  const suffix = `;path=/;SameSite=Lax${domain ? `;domain=${domain}` : ''}${location.protocol === 'https:' ? ';Secure' : ''}`;
  return {
    get: (k) => {
      const m = document.cookie.match(new RegExp(`(?:^|; )${k}=([^;]*)`));
      return m ? decodeURIComponent(m[1]!) : null;
    },
    set: (k, v) => {
      // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is missing from Safari and Firefox, and is async
      document.cookie = `${k}=${encodeURIComponent(v)};max-age=31536000${suffix}`;
    },
    del: (k) => {
      // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is missing from Safari and Firefox, and is async
      document.cookie = `${k}=;max-age=0${suffix}`;
    },
  };
}

export function openKV(persistence: Persistence, cookieDomain?: string): KV {
  const kv =
    persistence === 'cookie'
      ? cookieKV(cookieDomain)
      : persistence === 'localStorage'
        ? localStorageKV()
        : undefined;
  return kv ?? memoryKV();
}
