export { CHROMIUM_PATH, chromiumMissing, launchChromium } from './chromium.ts';
export { freePort } from './free-port.ts';
export { type RoleProcess, startRoleProcess } from './role-process.ts';
export { makeTempDir, type TempDir } from './temp-dir.ts';
export {
  type StartOptions,
  startTracklaneProcess,
  type TracklaneProcess,
  type TracklaneService,
  tracklaneService,
} from './tracklane-process.ts';
export { waitFor } from './wait-for.ts';
