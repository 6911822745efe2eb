import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  makeTempDir,
  startTracklaneProcess,
  type TempDir,
  type TracklaneProcess,
  waitFor,
} from '@tracklane/test-utils';

const track = (id: string) => ({ type: 'track', event: 'Clicked', userId: 'u1', messageId: id });

async function rows(server: TracklaneProcess, sql: string): Promise<unknown[][]> {
  return (await server.sql(sql)).rows;
}

/** Sends the headers and part of a body, then nothing: returns what the server answered, if anything. */
function slowRequest(port: number, waitMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(
        'POST /v1/track HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n' +
          'content-length: 200\r\n\r\n{"type":',
      );
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(answer);
    }, waitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

describe('collector request options over real HTTP', () => {
  let dir: TempDir;
  let plain: TracklaneProcess;
  let proxied: TracklaneProcess;
  before(async () => {
    dir = await makeTempDir();
    [plain, proxied] = await Promise.all([
      startTracklaneProcess({ dataDir: `${dir.path}/plain`, extraArgs: ['--ip', 'keep'] }),
      startTracklaneProcess({
        dataDir: `${dir.path}/proxied`,
        extraArgs: ['--ip', 'keep', '--trust-proxy', 'loopback', '--request-timeout', '1s'],
      }),
    ]);
  });
  after(async () => {
    await Promise.all([plain?.stop(), proxied?.stop()]);
    await dir.remove();
  });

  it('ignores X-Forwarded-For unless the peer is a trusted proxy', async () => {
    const headers = { 'x-forwarded-for': '203.0.113.9' };
    assert.equal((await plain.send('/v1/track', track('xff-plain'), headers)).status, 200);
    assert.equal((await proxied.send('/v1/track', track('xff-proxied'), headers)).status, 200);
    const ipOf = async (server: TracklaneProcess, id: string) =>
      waitFor(async () => {
        const found = await rows(
          server,
          `SELECT json_extract_string(context, '$.ip') FROM events WHERE message_id = '${id}'`,
        );
        return found.length === 1 ? found[0]![0] : undefined;
      });
    assert.equal(await ipOf(plain, 'xff-plain'), '127.0.0.1');
    assert.equal(await ipOf(proxied, 'xff-proxied'), '203.0.113.9');
  });

  it('answers 408 to a client that does not finish its request within --request-timeout', async () => {
    const started = Date.now();
    const answer = await slowRequest(proxied.port, 8_000);
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.ok(Date.now() - started < 6_000, `408 came after ${Date.now() - started} ms`);
  });

  it('keeps a whole request that failed (not JSON, wrong shape) as a dead letter with its raw body', async () => {
    const notJson = '{"type":"track","event":"Broken" this is not json';
    // Without a valid key nothing is stored: the collector does not keep anonymous junk.
    const anonymous = await fetch(`${plain.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `${notJson} anonymous`,
    });
    assert.equal(anonymous.status, 400);
    const response = await plain.send('/v1/track', notJson);
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'E_INVALID_JSON');
    const shape = await plain.send('/v1/batch', { batch: 5 });
    assert.equal(shape.status, 400);
    // Every event rejected: those are dead letters one by one already, not a second time as a request.
    const allBad = await plain.send('/v1/batch', { batch: [{ type: 'track', event: 42, userId: 'u' }] });
    assert.equal(allBad.status, 400);
    const letters = await waitFor(async () => {
      const found = await rows(
        plain,
        "SELECT reason, payload FROM dead_letters WHERE stage = 'collector' ORDER BY failed_at",
      );
      return found.length >= 3 ? found : undefined;
    });
    const requestLetters = letters.filter((l) => String(l[0]).startsWith('invalid_request'));
    assert.deepEqual(
      requestLetters.map((l) => l[1]),
      [notJson, '{"batch":5}'],
    );
    assert.match(String(requestLetters[0]![0]), /not valid JSON|Unexpected token/);
    assert.equal(letters.filter((l) => String(l[0]).startsWith('validation')).length, 1);
  });

  it('keeps at most 64 KB of a failed request body', async () => {
    const big = `{"type":"track","event":"${'x'.repeat(100 * 1024)}" oops`;
    assert.equal((await plain.send('/v1/track', big)).status, 400);
    const [length] = await waitFor(async () => {
      const found = await rows(
        plain,
        "SELECT length(payload) FROM dead_letters WHERE reason LIKE 'invalid_request%' AND payload LIKE '%xxxxxxxx%'",
      );
      return found.length === 1 ? found[0] : undefined;
    });
    assert.equal(Number(length), 64 * 1024);
  });
});
