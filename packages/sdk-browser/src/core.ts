// The core build: the full API without autocapture and with an in-memory queue (no localStorage queue).
import { makeApi } from './api.ts';

export type { AutocaptureOptions, BrowserOptions, Client, Consent } from './client.ts';
export { VERSION } from './client.ts';
export const { init, track, page, identify, group, alias, reset, setConsent, flush, user } = makeApi({});
