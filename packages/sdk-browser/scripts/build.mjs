#!/usr/bin/env node
// Builds the browser SDK into dist/: a script-tag IIFE exposing `window.tracklane` and an ESM module, each
// in a full (autocapture + localStorage queue) and a core flavour. `--size` also prints the min+gzip sizes
// and exits non-zero over budget, which is how CI keeps the SDK small.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const distDir = join(root, 'dist');

/** Budgets from issue 6, in bytes of minified + gzipped output. */
export const BUDGETS = { core: 5 * 1024, full: 10 * 1024 };

const flavours = [
  { name: 'full', entry: 'src/index.ts', iife: 'tracklane.js', esm: 'index.js' },
  { name: 'core', entry: 'src/core.ts', iife: 'tracklane.core.js', esm: 'core.js' },
];

/** Builds everything; returns the absolute paths and gzipped sizes of the IIFE files. */
export async function buildBrowserSdk() {
  mkdirSync(distDir, { recursive: true });
  const common = { bundle: true, minify: true, target: 'es2020', platform: 'browser', legalComments: 'none' };
  const out = {};
  for (const f of flavours) {
    const build = (format, file) =>
      esbuild
        .build({
          ...common,
          entryPoints: [join(root, f.entry)],
          format,
          globalName: 'tracklane',
          write: false,
        })
        .then(({ outputFiles }) => {
          const code = outputFiles[0].contents;
          // Write-then-rename: a concurrent build (tests run in parallel) never exposes a half-written file.
          const path = join(distDir, file);
          const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
          writeFileSync(tmp, code);
          renameSync(tmp, path);
          return code;
        });
    const [code] = await Promise.all([build('iife', f.iife), build('esm', f.esm)]);
    out[f.name] = {
      file: join(distDir, f.iife),
      bytes: code.length,
      gzipBytes: gzipSync(code, { level: 9 }).length,
      budget: BUDGETS[f.name],
    };
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizes = await buildBrowserSdk();
  let over = false;
  for (const [name, s] of Object.entries(sizes)) {
    const ok = s.gzipBytes <= s.budget;
    over ||= !ok;
    console.log(
      `${ok ? 'ok  ' : 'OVER'} ${name.padEnd(5)} ${(s.bytes / 1024).toFixed(2).padStart(6)} KB min  ` +
        `${(s.gzipBytes / 1024).toFixed(2).padStart(5)} KB min+gz  (budget ${s.budget / 1024} KB)  ${s.file}`,
    );
  }
  if (process.argv.includes('--size') && over) {
    console.error('browser SDK over its size budget');
    process.exit(1);
  }
}
