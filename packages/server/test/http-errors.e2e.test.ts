import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  makeTempDir,
  startTracklaneProcess,
  type TempDir,
  type TracklaneProcess,
  waitFor,
} from '@tracklane/test-utils';

interface ErrorBody {
  error: { code: string; message: string; fields?: { path: string; message: string }[] };
}

const good = (id: string) => ({ type: 'track', event: 'Clicked', userId: 'u1', messageId: id });

describe('bad input over real HTTP', () => {
  let dir: TempDir;
  let server: TracklaneProcess;
  before(async () => {
    dir = await makeTempDir();
    server = await startTracklaneProcess({ dataDir: dir.path });
  });
  after(async () => {
    await server.stop();
    await dir.remove();
  });

  async function errorOf(response: Response): Promise<ErrorBody['error']> {
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    return ((await response.json()) as ErrorBody).error;
  }

  it('answers malformed JSON with 400 E_INVALID_JSON', async () => {
    const response = await server.send('/v1/batch', '{"batch": [');
    assert.equal(response.status, 400);
    assert.equal((await errorOf(response)).code, 'E_INVALID_JSON');
  });

  it('names the event and field that lack an id, and keeps the good neighbour', async () => {
    const response = await server.send('/v1/batch', { batch: [good('ok-1'), { type: 'track', event: 'x' }] });
    // Segment clients only look at the status: 200, with the body saying what was rejected.
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      success: boolean;
      rejected: { index: number; message: string }[];
    };
    assert.equal(body.success, true);
    assert.deepEqual(
      body.rejected.map((r) => [r.index, r.message]),
      [[1, '/batch/1/userId: either userId or anonymousId is required']],
    );
  });

  it('answers 400 naming the field when no event of the batch is valid', async () => {
    const response = await server.send('/v1/batch', { batch: [{ type: 'track', event: 'x' }] });
    assert.equal(response.status, 400);
    const error = await errorOf(response);
    assert.equal(error.code, 'E_VALIDATION');
    assert.deepEqual(error.fields, [
      { path: '/batch/0/userId', message: 'either userId or anonymousId is required' },
    ]);
  });

  it('names fields with wrong types', async () => {
    const response = await server.send('/v1/batch', {
      batch: [{ type: 'track', event: 42, userId: 'u', properties: 'nope' }],
    });
    assert.equal(response.status, 400);
    const paths = (await errorOf(response)).fields?.map((f) => f.path).sort();
    assert.deepEqual(paths, ['/batch/0/event', '/batch/0/properties']);
  });

  it('rejects a body without a batch array', async () => {
    const response = await server.send('/v1/batch', { events: [] });
    assert.equal(response.status, 400);
    assert.deepEqual((await errorOf(response)).fields?.[0]?.path, '/batch');
  });

  it('answers an unknown write key with 401 and stores nothing', async () => {
    const response = await fetch(`${server.url}/v1/batch`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from('wrong:').toString('base64')}`,
      },
      body: JSON.stringify({ batch: [good('unauth-1')] }),
    });
    assert.equal(response.status, 401);
    assert.equal((await errorOf(response)).code, 'E_UNAUTHORIZED');
    const noKey = await fetch(`${server.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ batch: [good('unauth-2')] }),
    });
    assert.equal(noKey.status, 401);
  });

  it('accepts the write key in the body, as beacons send it', async () => {
    const response = await fetch(`${server.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ writeKey: server.writeKey, batch: [good('beacon-1')] }),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { success: true });
  });

  it('answers a body over 500 KB with 413', async () => {
    const big = { batch: [{ ...good('big-1'), properties: { blob: 'x'.repeat(600 * 1024) } }] };
    const response = await server.send('/v1/batch', big);
    assert.equal(response.status, 413);
    assert.equal((await errorOf(response)).code, 'E_PAYLOAD_TOO_LARGE');
  });

  it('stores the good events of a mixed batch, dead-letters the bad, and nothing of refused requests', async () => {
    const mixed = await server.send('/v1/batch', {
      batch: [good('mixed-1'), { type: 'nope', userId: 'u', messageId: 'mixed-bad' }],
    });
    assert.equal(mixed.status, 200);
    const accepted = await server.send('/v1/batch', { batch: [good('mixed-2')] });
    assert.equal(accepted.status, 200);
    await waitFor(
      async () =>
        (await server.sql("SELECT count(*) FROM events WHERE message_id IN ('mixed-1', 'mixed-2', 'ok-1')"))
          .rows[0]![0] === 3,
    );
    await waitFor(
      async () =>
        (await server.sql("SELECT count(*) FROM dead_letters WHERE message_id = 'mixed-bad'")).rows[0]![0] ===
        1,
    );
    const { rows } = await server.sql(
      "SELECT count(*) FROM events WHERE message_id IN ('mixed-bad', 'big-1', 'unauth-1', 'unauth-2')",
    );
    assert.deepEqual(rows, [[0]]);
  });

  it('guards /api/sql with the API key and refuses writes', async () => {
    const noKey = await fetch(`${server.url}/api/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT 1' }),
    });
    assert.equal(noKey.status, 401);
    const wrongKey = await fetch(`${server.url}/api/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer nope' },
      body: JSON.stringify({ sql: 'SELECT 1' }),
    });
    assert.equal(wrongKey.status, 401);
    const write = await fetch(`${server.url}/api/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
      body: JSON.stringify({ sql: 'DELETE FROM events' }),
    });
    assert.equal(write.status, 403);
    assert.equal((await errorOf(write)).code, 'E_READ_ONLY_SQL');
    const missing = await fetch(`${server.url}/api/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.apiKey}` },
      body: JSON.stringify({ query: 'SELECT 1' }),
    });
    assert.equal(missing.status, 400);
    assert.equal((await errorOf(missing)).fields?.[0]?.path, '/sql');
  });

  it('answers unknown routes with a JSON 404', async () => {
    const response = await fetch(`${server.url}/v1/nope`);
    assert.equal(response.status, 404);
    assert.equal((await errorOf(response)).code, 'E_NOT_FOUND');
  });

  it('never writes a key to its output', () => {
    assert.doesNotMatch(server.output(), new RegExp(`${server.writeKey}|${server.apiKey}`));
  });
});
