import type { Log } from '@tracklane/log';
import type { SourceRegistry } from './sources.ts';

/** What every collector route needs; built once by the server. */
export interface CollectorContext {
  log: Log;
  sources: SourceRegistry;
}
