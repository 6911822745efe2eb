/** A short CSS path (at most 5 levels, stopping at an id) that identifies the element for analysis. */
export function selector(el: Element): string {
  const parts: string[] = [];
  for (
    let e: Element | null = el;
    e && parts.length < 5 && e !== document.documentElement;
    e = e.parentElement
  ) {
    if (e.id) {
      parts.unshift(`#${CSS.escape(e.id)}`);
      break;
    }
    let part = e.tagName.toLowerCase();
    const parent = e.parentElement;
    if (parent) {
      const same = Array.from(parent.children).filter((c) => c.tagName === e!.tagName);
      if (same.length > 1) part += `:nth-of-type(${same.indexOf(e) + 1})`;
    }
    parts.unshift(part);
  }
  return parts.join(' > ');
}

/** Visible text, whitespace collapsed and cut to 100 characters. Never reads input values. */
export function text(el: Element): string {
  return (el.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 100);
}

/** `data-track-plan="pro"` becomes `{ plan: 'pro' }`. */
export function trackAttributes(el: HTMLElement): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(el.dataset)) {
    if (k.length > 5 && k.startsWith('track') && v !== undefined) out[k[5]!.toLowerCase() + k.slice(6)] = v;
  }
  return out;
}
