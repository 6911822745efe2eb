import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { makeTempDir } from '@tracklane/test-utils';
import { EmbeddedLog } from '../src/index.ts';
import { CRASH_PARTITIONS, CRASH_TOPIC, valueFor } from './fixtures/crash-values.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/append-forever.ts', import.meta.url));
const ITERATIONS = 20;

/** Runs the appender child until kill -9 at a random moment after it is ready; returns its printed acks. */
async function runAndKill(dir: string, run: number): Promise<{ acks: string[]; killedAfterMs: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, String(run)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const killedAfterMs = 50 + Math.floor(Math.random() * 350);
  let timer: NodeJS.Timeout | undefined;
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    if (timer === undefined && (out + chunk).includes('ready\n')) {
      timer = setTimeout(() => child.kill('SIGKILL'), killedAfterMs);
    }
    out += chunk;
  });
  child.stderr.on('data', (chunk: string) => {
    err += chunk;
  });
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal })),
  );
  clearTimeout(timer);
  assert.equal(signal, 'SIGKILL', `child should die by kill -9, exited ${code}: ${err}`);
  // The last line may be cut mid-write; only complete lines are acknowledgements.
  const lines = out.slice(0, out.lastIndexOf('\n') + 1).split('\n');
  return { acks: lines.filter((l) => l !== '' && l !== 'ready'), killedAfterMs };
}

it('keeps every acknowledged record intact across repeated kill -9', { timeout: 120_000 }, async () => {
  await using dir = await makeTempDir('tracklane-crash-');
  const acked = new Map<string, string>(); // "partition/offset" -> id
  const verified = new Map<string, number>(); // id -> crc32 of its value, once checked byte for byte
  let totalAcks = 0;
  for (let run = 0; run < ITERATIONS; run++) {
    const { acks } = await runAndKill(dir.path, run);
    for (const line of acks) {
      const [partition, offset, id] = line.split(' ');
      const where = `${partition}/${offset}`;
      assert.ok(!acked.has(where), `offset ${where} acknowledged twice`);
      acked.set(where, id!);
    }
    totalAcks += acks.length;

    const log = await EmbeddedLog.open(dir.path, { retentionCheckIntervalMs: 0 });
    try {
      const seenIds = new Set<string>();
      const found = new Set<string>();
      const offsets = await log.offsets(CRASH_TOPIC);
      for (let p = 0; p < CRASH_PARTITIONS; p++) {
        assert.equal(offsets[p]!.start, 0);
        let next = 0;
        for (;;) {
          const records = await log.read(CRASH_TOPIC, p, next, { maxRecords: 5000, maxBytes: 8 << 20 });
          if (records.length === 0) break;
          for (const r of records) {
            // Messages are built only on failure: this loop runs over every record of every iteration.
            if (r.offset !== next)
              assert.fail(`partition ${p}: offset ${r.offset} where ${next} was expected`);
            next++;
            const id = r.headers.id!;
            if (seenIds.has(id)) assert.fail(`record ${id} stored twice`);
            seenIds.add(id);
            // Full check the first time a record is seen; later iterations compare against its known CRC.
            const known = verified.get(id);
            if (known === undefined) {
              if (!valueFor(id).equals(r.value)) assert.fail(`value of ${id} at ${p}/${r.offset} is corrupt`);
              verified.set(id, crc32(r.value));
            } else if (known !== crc32(r.value)) {
              assert.fail(`value of ${id} at ${p}/${r.offset} changed since it was first read`);
            }
            const where = `${p}/${r.offset}`;
            const ackedId = acked.get(where);
            if (ackedId !== undefined) {
              if (id !== ackedId) assert.fail(`${where} holds ${id}, but ${ackedId} was acknowledged there`);
              found.add(where);
            }
          }
        }
        assert.equal(next, offsets[p]!.end, `partition ${p} reads up to its end offset`);
      }
      for (const where of acked.keys()) assert.ok(found.has(where), `acknowledged record ${where} survived`);
    } finally {
      await log.close();
    }
  }
  assert.ok(totalAcks > ITERATIONS, `the child acknowledged records (${totalAcks})`);
});
