// The full build: core plus autocapture and the localStorage queue.
import { makeApi } from './api.ts';
import { autocapture } from './autocapture/index.ts';
import { StoredQueue } from './stored-queue.ts';

export type { AutocaptureOptions, BrowserOptions, Client, Consent } from './client.ts';
export { VERSION } from './client.ts';
export const { init, track, page, identify, group, alias, reset, setConsent, flush, user } = makeApi({
  queue: (key, capacity) => new StoredQueue(key, capacity),
  plugins: [autocapture],
});
