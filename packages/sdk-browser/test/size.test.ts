import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUDGETS, buildBrowserSdk } from '@tracklane/browser/build';

describe('browser SDK size', () => {
  it('stays within budget: core <= 5 KB and full <= 10 KB min+gzip', async () => {
    const sizes = await buildBrowserSdk();
    assert.ok(sizes.core.gzipBytes <= BUDGETS.core, `core is ${sizes.core.gzipBytes} B`);
    assert.ok(sizes.full.gzipBytes <= BUDGETS.full, `full is ${sizes.full.gzipBytes} B`);
  });

  it('exposes window.tracklane from the script-tag build', async () => {
    const { readFile } = await import('node:fs/promises');
    const { runInNewContext } = await import('node:vm');
    const sandbox: Record<string, unknown> = {};
    runInNewContext(await readFile((await buildBrowserSdk()).full.file, 'utf8'), sandbox);
    const api = sandbox.tracklane as Record<string, unknown>;
    for (const fn of [
      'init',
      'track',
      'page',
      'identify',
      'group',
      'alias',
      'reset',
      'flush',
      'setConsent',
    ]) {
      assert.equal(typeof api[fn], 'function', fn);
    }
  });
});
