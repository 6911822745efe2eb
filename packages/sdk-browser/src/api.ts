import { type BrowserOptions, Client, type Consent, type Extensions } from './client.ts';

type Props = Record<string, unknown>;

/**
 * The module-level API (`tracklane.track(...)`) over one client. Calls made before `init` are kept and
 * replayed once it runs, so a page can track before the SDK is configured.
 */
export function makeApi(ext: Extensions) {
  let client: Client | undefined;
  const early: ((c: Client) => void)[] = [];
  const call = (fn: (c: Client) => void) => {
    if (client) fn(client);
    else early.push(fn);
  };
  return {
    init(options: BrowserOptions): Client {
      if (client) return client;
      client = new Client(options, ext);
      for (const fn of early.splice(0)) fn(client);
      return client;
    },
    track: (event: string, properties?: Props) => call((c) => c.track(event, properties)),
    page: (name?: string, properties?: Props) => call((c) => c.page(name, properties)),
    identify: (userId?: string | null, traits?: Props) => call((c) => c.identify(userId, traits)),
    group: (groupId: string, traits?: Props) => call((c) => c.group(groupId, traits)),
    alias: (userId: string, previousId?: string) => call((c) => c.alias(userId, previousId)),
    reset: () => call((c) => c.reset()),
    setConsent: (consent: Consent) => call((c) => c.setConsent(consent)),
    flush: (): Promise<void> => client?.flush() ?? Promise.resolve(),
    user: () => client?.user(),
  };
}
