import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Log } from '@tracklane/log';
import { waitFor } from '@tracklane/test-utils';
import { NatsLog } from '../src/index.ts';
import { natsFixture } from './conformance-fixture.ts';
import { type NatsNode, natsServerMissing, startNatsServer } from './nats-server.ts';

/** JetStream-specific behaviour beyond the shared conformance suite. */
describe('NatsLog specifics', { skip: natsServerMissing() }, () => {
  let server: NatsNode & { servers: string[] };
  let fixture: Awaited<ReturnType<ReturnType<typeof natsFixture>>>;
  let log: Log;
  let namespace: string;
  const children: ChildProcess[] = [];

  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await server?.stop();
  });
  beforeEach(async () => {
    namespace = `t${randomBytes(4).toString('hex')}`;
    fixture = await natsFixture(() => server.servers, 1, namespace)();
    log = await fixture.open();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    await log.close();
    await fixture.cleanup();
  });

  it('drops a re-sent record with the same message-id header (Nats-Msg-Id) and acks the original offset', async () => {
    await log.ensureTopic('t', { partitions: 4 });
    const record = { value: Buffer.from('once'), headers: { 'message-id': 'evt-1' } };
    const [first] = await log.append('t', [record]);
    const [again] = await log.append('t', [record]);
    assert.deepEqual(
      again,
      first,
      'a keyless record with an id is placed by the id, so the retry meets its twin',
    );
    const total = (await log.offsets('t')).reduce((n, o) => n + o.end, 0);
    assert.equal(total, 1);
  });

  it('moves a killed member’s partitions to the survivors after the session timeout', async () => {
    await log.ensureTopic('t', { partitions: 2 });
    const survivor = await log.consumer({ group: 'g', topics: ['t'] });
    const member = fileURLToPath(new URL('./fixtures/group-member.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', member, server.servers.join(','), namespace, 'g', 't', '1500'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let output = '';
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    await waitFor(
      async () => {
        await survivor.poll({ timeoutMs: 50 });
        return survivor.assignment().length === 1 && /owns \d/.test(output);
      },
      { timeoutMs: 20_000, what: 'the second member to take a partition' },
    );
    child.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(
      async () => {
        await survivor.poll({ timeoutMs: 50 });
        return survivor.assignment().length === 2;
      },
      { timeoutMs: 10_000, what: 'the survivor to take over the killed member’s partition' },
    );
    const tookMs = Date.now() - killedAt;
    assert.ok(tookMs >= 1000, `not before the session timeout (took ${tookMs} ms)`);
    await log.append('t', [
      { key: 'a', value: Buffer.from('1') },
      { key: 'b', value: Buffer.from('2') },
    ]);
    const seen: string[] = [];
    await waitFor(
      async () => {
        for (const r of await survivor.poll({ timeoutMs: 100 })) seen.push(r.value.toString());
        return seen.length === 2;
      },
      { timeoutMs: 5000, what: 'records from both partitions' },
    );
    await survivor.close();
  });

  it('never moves a committed offset back from a member whose partition was committed by another since', async () => {
    await log.ensureTopic('t', { partitions: 1 });
    await log.append(
      't',
      [1, 2, 3].map((n) => ({ value: Buffer.from(String(n)) })),
    );
    const stale = await log.consumer({ group: 'g', topics: ['t'] });
    const other = await log.consumer({ group: 'g', topics: ['t'] });
    try {
      const got: number[] = [];
      await waitFor(
        async () => {
          for (const r of await stale.poll({ timeoutMs: 100 })) got.push(r.offset);
          return got.length === 3;
        },
        { what: 'the first member to read the partition' },
      );
      assert.deepEqual(other.assignment(), [], 'one partition: the older member keeps it');
      // What a member that took the partition over while `stale` was cut off would have written.
      await other.commit([{ topic: 't', partition: 0, offset: 2 }]);
      await stale.commit();
      assert.equal(
        (await log.committedOffsets('g', 't')).get(0),
        2,
        'the stale member’s commit (3) was refused, not written over the newer one',
      );
    } finally {
      await Promise.all([stale.close(), other.close()]);
    }
  });

  it('reads a large range through a consumer and a small one by sequence, alike', async () => {
    await log.ensureTopic('t', { partitions: 1 });
    await log.append(
      't',
      Array.from({ length: 300 }, (_, i) => ({ value: Buffer.from(String(i)) })),
    );
    const big = await log.read('t', 0, 10, { maxRecords: 200 });
    const small = await log.read('t', 0, 10, { maxRecords: 3 });
    assert.deepEqual(
      big.map((r) => r.offset),
      Array.from({ length: 200 }, (_, i) => 10 + i),
    );
    assert.deepEqual(small, big.slice(0, 3));
  });

  it('hands a poll the whole burst of waiting records, not the first record of it', async () => {
    await log.ensureTopic('t', { partitions: 1 });
    await log.append(
      't',
      Array.from({ length: 200 }, (_, i) => ({ value: Buffer.from(String(i)) })),
    );
    const consumer = await log.consumer({ group: 'g', topics: ['t'] });
    try {
      const sizes: number[] = [];
      let seen = 0;
      while (seen < 200) {
        const records = await consumer.poll({ maxRecords: 1000, timeoutMs: 5000 });
        assert.ok(records.length > 0, `poll timed out after ${seen} records`);
        for (const r of records) assert.equal(r.offset, seen++);
        sizes.push(records.length);
      }
      // 200 small records come in one pull, usually one socket read: waking the poll per record (as the
      // feed once did) made every poll return a single record, and the poll machinery cost per record.
      assert.ok(sizes.length <= 20, `200 records took ${sizes.length} polls: ${sizes.join(', ')}`);
    } finally {
      await consumer.close();
    }
  });

  it('refuses a record larger than the server’s max_payload with E_RECORD_TOO_LARGE', async () => {
    await log.ensureTopic('t', { partitions: 1 });
    await assert.rejects(log.append('t', [{ value: Buffer.alloc(2 << 20) }]), { code: 'E_RECORD_TOO_LARGE' });
  });
});

describe('NatsLog.open', () => {
  it('reports an unreachable server as E_NOT_READY', async () => {
    await assert.rejects(NatsLog.open({ servers: 'nats://127.0.0.1:1' }), { code: 'E_NOT_READY' });
  });
});
