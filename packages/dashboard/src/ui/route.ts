import { useEffect, useState } from 'preact/hooks';

/** Every view's state lives in the hash (`#/insights/trends?event=...`), so any screen can be bookmarked. */
export interface Route {
  path: string[];
  params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const pathPart = q < 0 ? raw : raw.slice(0, q);
  return {
    path: pathPart.split('/').filter((p) => p.length > 0),
    params: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)),
  };
}

export function hrefFor(
  path: string[],
  params?: Record<string, string | undefined> | URLSearchParams,
): string {
  const search = new URLSearchParams();
  if (params instanceof URLSearchParams) for (const [k, v] of params) search.append(k, v);
  else if (params !== undefined)
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') search.set(k, v);
  const qs = search.toString();
  return `#/${path.join('/')}${qs.length > 0 ? `?${qs}` : ''}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

/**
 * Changes some parameters of the current view. Replaces the history entry for typing-level changes and
 * pushes one for deliberate ones (a new query), so Back goes to the previous question, not the previous
 * keystroke.
 */
export function setParams(
  patch: Record<string, string | undefined>,
  mode: 'push' | 'replace' = 'replace',
): void {
  const { path, params } = parseHash(location.hash);
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined || v === '') params.delete(k);
    else params.set(k, v);
  }
  const next = hrefFor(path, params);
  if (mode === 'push') history.pushState(null, '', next);
  else history.replaceState(null, '', next);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}
