import type { Client } from '../client.ts';
import { captureClicks } from './clicks.ts';
import { captureForms } from './forms.ts';
import { capturePageviews } from './pageviews.ts';
import { captureWebVitals } from './web-vitals.ts';

export function autocapture(client: Client): void {
  const o = client.options.autocapture;
  if (o === false) return;
  const on = o === true || o === undefined ? {} : o;
  if (on.pageviews !== false) capturePageviews(client);
  if (on.clicks !== false) captureClicks(client);
  if (on.forms !== false) captureForms(client);
  if (on.webVitals) captureWebVitals(client);
}
