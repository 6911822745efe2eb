export { freePort } from './free-port.ts';
export { makeTempDir, type TempDir } from './temp-dir.ts';
export { waitFor } from './wait-for.ts';
