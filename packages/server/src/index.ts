export { DEFAULT_CONFIG, type TracklaneConfig } from './config.ts';
export { applyRecordedErasures, ERASURES_TOPIC, eraseUser, readRecordedErasures } from './erasure.ts';
export { maskSecret, sourceIdFor } from './keys.ts';
export { type ReplayProjectionOptions, replayProjection } from './replay.ts';
export { type RunningTracklane, startTracklane } from './start.ts';
