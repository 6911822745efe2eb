import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeTempDir, startTracklaneProcess, waitFor } from '@tracklane/test-utils';

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

function replay(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', BIN, 'replay', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

const events = [
  { type: 'track', event: 'Signed Up', userId: 'ada', messageId: 'r1', timestamp: '2026-03-01T10:00:05Z' },
  { type: 'track', event: 'Signed Up', userId: 'bob', messageId: 'r2', timestamp: '2026-03-01T10:00:40Z' },
  { type: 'track', event: 'Upgraded', userId: 'ada', messageId: 'r3', timestamp: '2026-03-01T10:01:10Z' },
  {
    type: 'identify',
    userId: 'ada',
    messageId: 'r4',
    traits: { plan: 'pro' },
    timestamp: '2026-03-01T10:02:00Z',
  },
  {
    type: 'identify',
    userId: 'bob',
    messageId: 'r5',
    traits: { plan: 'free' },
    timestamp: '2026-03-01T10:02:00Z',
  },
];

describe('tracklane replay', () => {
  it('rebuilds a projection from the log, refuses a running data dir, and keeps erased people out', async () => {
    await using dir = await makeTempDir();
    let server = await startTracklaneProcess({ dataDir: dir.path });
    let counts: { rows: unknown[][] };
    try {
      assert.equal((await server.send('/v1/batch', { batch: events })).status, 200);
      await waitFor(async () => (await server.sql('SELECT count(*) FROM user_profiles')).rows[0]![0] === 2, {
        what: 'profiles of ada and bob',
      });
      counts = await server.sql(
        "SELECT minute, event, count FROM event_counts_minute WHERE type = 'track' ORDER BY minute, event",
      );
      assert.deepEqual(
        counts.rows.map((r) => [r[1], r[2]]),
        [
          ['Signed Up', 2],
          ['Upgraded', 1],
        ],
      );

      const refused = replay(['--pipeline', 'event_counts_minute', '--data-dir', dir.path]);
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /in use by a running tracklane: stop it first/);

      const erase = await fetch(`${server.url}/api/users/bob`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${server.apiKey}` },
      });
      assert.equal(erase.status, 200);
    } finally {
      // A failed assertion must not leave the server running: the test runner would wait for it forever.
      await server.stop();
    }

    for (const pipeline of ['event_counts_minute', 'user_profiles']) {
      const result = replay(['--pipeline', pipeline, '--data-dir', dir.path]);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`rebuilt ${pipeline} from \\d+ record\\(s\\)`));
    }

    server = await startTracklaneProcess({ dataDir: dir.path, port: server.port });
    try {
      const rebuilt = await server.sql(
        "SELECT minute, event, count FROM event_counts_minute WHERE type = 'track' ORDER BY minute, event",
      );
      assert.deepEqual(rebuilt.rows, counts.rows);
      const profiles = await server.sql('SELECT user_id FROM user_profiles ORDER BY user_id');
      assert.deepEqual(profiles.rows, [['ada']], 'the erased user stays out of the rebuilt projection');
    } finally {
      await server.stop();
    }
  });

  it('explains a bad pipeline name and a bad --from', () => {
    const name = replay(['--pipeline', 'nope']);
    assert.notEqual(name.status, 0);
    assert.match(name.stderr, /Allowed choices are .*event_counts_minute/);
    const from = replay(['--pipeline', 'sessions', '--from', 'yesterday']);
    assert.notEqual(from.status, 0);
    assert.match(from.stderr, /expected an offset/);
  });
});
