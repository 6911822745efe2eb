import { buildBrowserSdk } from '@tracklane/browser/build';
import type { BenchResult, Workload } from '../result.ts';

/** Browser SDK weight: min+gzip of each script-tag build beside the budget issue 6 set for it. */
const workload: Workload = {
  name: 'sdk-size',
  description: 'browser SDK bundle size (esbuild minify, gzip -9) against its budget',
  async run() {
    const sizes = await buildBrowserSdk();
    const results: BenchResult[] = [];
    for (const [flavour, s] of Object.entries(sizes)) {
      results.push({
        workload: 'sdk-size',
        name: `@tracklane/browser ${flavour} build (${flavour === 'full' ? 'autocapture + persistence' : 'API only'})`,
        value: round(s.gzipBytes / 1024),
        unit: 'KB min+gz',
        baseline: { name: 'size budget', value: s.budget / 1024 },
        // Smaller is better, so budget / size: above 1 means under budget.
        ratio: round(s.budget / s.gzipBytes),
        goal: 1,
        extra: { minifiedKB: round(s.bytes / 1024) },
      });
    }
    return results;
  },
};

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

export default workload;
