export { DEFAULT_CONFIG, type TracklaneConfig } from './config.ts';
export { maskSecret, sourceIdFor } from './keys.ts';
export { type RunningTracklane, startTracklane } from './start.ts';
