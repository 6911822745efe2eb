import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where `npm run build -w packages/dashboard` writes the static dashboard (index.html + hashed assets/). */
export const DASHBOARD_DIST = join(root, 'dist');

/** The built dashboard's directory, or undefined when it has not been built yet. */
export function builtDashboard(): string | undefined {
  return existsSync(join(DASHBOARD_DIST, 'index.html')) ? DASHBOARD_DIST : undefined;
}

export const BUILD_COMMAND = 'npm run build -w packages/dashboard';
