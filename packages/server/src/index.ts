export { startApiRole } from './api-role.ts';
export { type ServeCollectorParams, serveCollector, startCollectorRole } from './collector-role.ts';
export { DEFAULT_CONFIG, type TracklaneConfig } from './config.ts';
export {
  type DeploymentConfig,
  type LogConfig,
  loadDeploymentConfig,
  parseDeploymentConfig,
  type StoreConfig,
} from './deployment-config.ts';
export { applyRecordedErasures, ERASURES_TOPIC, eraseUser, readRecordedErasures } from './erasure.ts';
export { maskSecret, sourceIdFor } from './keys.ts';
export { openLog } from './open-log.ts';
export { openStore } from './open-store.ts';
export { startProcessorRole } from './processor-role.ts';
export { type ReplayProjectionOptions, replayProjection } from './replay.ts';
export type { RoleName, RunningRole } from './role-context.ts';
export { type RunningTracklane, startTracklane } from './start.ts';
export { STORAGE_GROUP, type StorageWriter, startStorageWriter } from './storage-writer.ts';
