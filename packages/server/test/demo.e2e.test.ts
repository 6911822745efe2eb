import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { makeTempDir, startTracklaneProcess } from '@tracklane/test-utils';

describe('tracklane start --demo', () => {
  it('serves the demo site, its SDK and a config with the write key', async () => {
    await using dir = await makeTempDir();
    const server = await startTracklaneProcess({ dataDir: dir.path, extraArgs: ['--demo'] });
    try {
      const page = await fetch(`${server.url}/demo/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<script[^>]+tracklane\.js/);
      const sdk = await fetch(`${server.url}/demo/tracklane.js`);
      assert.equal(sdk.status, 200);
      assert.match(await sdk.text(), /tracklane/);
      const config = await fetch(`${server.url}/demo/config.js`);
      assert.equal(config.headers.get('cache-control'), 'no-store');
      assert.match(await config.text(), new RegExp(`"writeKey":"${server.writeKey}"`));
      const redirect = await fetch(`${server.url}/demo`, { redirect: 'manual' });
      assert.equal(redirect.status, 301);
      // Raw paths: fetch would normalise the dots away before sending.
      for (const path of ['/demo/../keys.json', '/demo/%2e%2e/keys.json', '/demo/..%2fkeys.json']) {
        const status = await rawGet(server.port, path);
        assert.ok(status === 404 || status === 400 || status === 403, `${path} answered ${status}`);
      }
      assert.match(server.output(), /Demo site: http:\/\/127\.0\.0\.1:\d+\/demo\//);
    } finally {
      await server.stop();
    }
  });

  it('serves no demo without the flag', async () => {
    await using dir = await makeTempDir();
    const server = await startTracklaneProcess({ dataDir: dir.path });
    try {
      assert.equal((await fetch(`${server.url}/demo/`)).status, 404);
    } finally {
      await server.stop();
    }
  });
});

function rawGet(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
