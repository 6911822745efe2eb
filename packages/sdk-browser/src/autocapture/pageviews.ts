import type { Client } from '../client.ts';

/**
 * A page view on load and on every URL change an SPA makes: history.pushState/replaceState (wrapped, since
 * they fire no event), back/forward (popstate) and hash changes. A replaceState that keeps the URL (state
 * bookkeeping) is not a view.
 */
export function capturePageviews(client: Client): void {
  let last = '';
  const check = () => {
    if (location.href === last) return;
    last = location.href;
    client.page();
  };
  for (const method of ['pushState', 'replaceState'] as const) {
    const original = history[method];
    history[method] = function (this: History, ...args: Parameters<History['pushState']>) {
      original.apply(this, args);
      check();
    };
  }
  addEventListener('popstate', check);
  addEventListener('hashchange', check);
  check();
}
