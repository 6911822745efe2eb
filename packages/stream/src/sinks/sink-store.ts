import type { Store } from '@tracklane/storage';

/**
 * What store-backed sinks need from a Store. Pipelines are built against this rather than the whole
 * Store, so that in a worker thread they can be given a proxy of just these methods (`StoreProxy`).
 */
export type SinkStore = Pick<Store, 'defineTable' | 'upsert'>;
