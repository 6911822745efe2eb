export { DEFAULT_CONFIG, type TracklaneConfig } from './config.ts';
export { applyRecordedErasures, ERASURES_TOPIC, eraseUser } from './erasure.ts';
export { maskSecret, sourceIdFor } from './keys.ts';
export { type RunningTracklane, startTracklane } from './start.ts';
