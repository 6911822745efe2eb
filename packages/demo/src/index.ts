import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface DemoAssets {
  /** Absolute directory to serve statically under /demo/ (index.html, the pages, tracklane.js). */
  dir: string;
}

/**
 * Prepares the demo site: the static pages plus a fresh script-tag build of the browser SDK, in one
 * directory. The server serves that directory under `/demo/` and generates `/demo/config.js` with
 * `demoConfigScript`. Builds with esbuild when available (a dev checkout); otherwise uses the last build.
 */
export async function demoAssets(): Promise<DemoAssets> {
  const dir = join(root, 'dist');
  mkdirSync(dir, { recursive: true });
  cpSync(join(root, 'public'), dir, { recursive: true });
  let sdk: string | undefined;
  try {
    // Loaded lazily: esbuild is a dev dependency, and only the demo needs a build at runtime.
    const { buildBrowserSdk } = await import('@tracklane/browser/build');
    sdk = (await buildBrowserSdk()).full.file;
  } catch (err) {
    const built = join(root, '..', 'sdk-browser', 'dist', 'tracklane.js');
    if (!existsSync(built)) {
      throw new Error(
        'the browser SDK is not built and esbuild is missing: run npm run build -w packages/sdk-browser',
        {
          cause: err,
        },
      );
    }
    sdk = built;
  }
  cpSync(sdk, join(dir, 'tracklane.js'));
  return { dir };
}

export interface DemoConfig {
  writeKey: string;
  /** Collector base URL; omit when the demo is served by the collector itself (same origin). */
  host?: string;
  /** Any other browser SDK option (consent, flushInterval, retry...). */
  [option: string]: unknown;
}

/** The body of `/demo/config.js`: a script defining `window.TRACKLANE_CONFIG` for demo.js. */
export function demoConfigScript(config: DemoConfig): string {
  // Escaping `<` keeps a hostile value from closing a surrounding <script> if someone inlines this.
  return `window.TRACKLANE_CONFIG = ${JSON.stringify(config).replace(/</g, '\\u003c')};\n`;
}
