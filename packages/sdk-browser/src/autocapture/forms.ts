import type { Client } from '../client.ts';
import { selector, trackAttributes } from './selector.ts';

/** Form submits: which form (id, name, action, method, selector, field count), never what was typed. */
export function captureForms(client: Client): void {
  addEventListener(
    'submit',
    (e) => {
      const form = e.target as HTMLFormElement;
      if (!(form instanceof HTMLFormElement) || form.closest('[data-track-ignore]')) return;
      client.track(form.getAttribute('data-track') || 'Form Submitted', {
        id: form.id || undefined,
        name: form.getAttribute('name') || undefined,
        action: form.getAttribute('action') || undefined,
        method: (form.getAttribute('method') || 'get').toLowerCase(),
        selector: selector(form),
        fieldCount: form.elements.length,
        ...trackAttributes(form),
      });
    },
    true,
  );
}
