import type { Client } from '../client.ts';
import { selector, text, trackAttributes } from './selector.ts';

const CLICKABLE = '[data-track]:not(form),a,button,[role=button],input[type=submit],input[type=button]';

/**
 * Clicks on `[data-track]` elements (event named by the attribute) and on links and buttons (`Element
 * Clicked`). Captures element id, visible text, href and a CSS selector: never input values, and nothing
 * inside `[data-track-ignore]`. Listens in the capture phase so handlers that stop propagation or navigate
 * cannot hide the click.
 */
export function captureClicks(client: Client): void {
  addEventListener(
    'click',
    (e) => {
      const target = e.target as Element | null;
      const el = target?.closest?.(CLICKABLE) as HTMLElement | null;
      if (!el || el.closest('[data-track-ignore]')) return;
      const href = el.getAttribute('href');
      client.track(el.getAttribute('data-track') || 'Element Clicked', {
        tag: el.tagName.toLowerCase(),
        id: el.id || undefined,
        text: text(el) || undefined,
        href: href ? (el as HTMLAnchorElement).href || href : undefined,
        selector: selector(el),
        ...trackAttributes(el),
      });
    },
    true,
  );
}
