import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { makeTempDir } from '@tracklane/test-utils';
import { type CrashLedger, recordAcks, runAndKill, verifyAfterCrash } from './fixtures/crash-harness.ts';

const ITERATIONS = 20;

it('keeps every acknowledged record intact across repeated kill -9', { timeout: 120_000 }, async () => {
  await using dir = await makeTempDir('tracklane-crash-');
  const ledger: CrashLedger = { acked: new Map(), verified: new Map() };
  let totalAcks = 0;
  for (let run = 0; run < ITERATIONS; run++) {
    const acks = await runAndKill(dir.path, run, 'mixed');
    recordAcks(ledger, acks);
    totalAcks += acks.length;
    await verifyAfterCrash(dir.path, 'mixed', ledger);
  }
  assert.ok(totalAcks > ITERATIONS, `the child acknowledged records (${totalAcks})`);
});

it('keeps every acknowledged multi-partition record exactly once, in order, across kill -9 mid-stream and mid-checkpoint', {
  timeout: 120_000,
}, async () => {
  await using dir = await makeTempDir('tracklane-crash-spread-');
  const ledger: CrashLedger = { acked: new Map(), verified: new Map() };
  let totalAcks = 0;
  let killsWithCommitLog = 0;
  for (let run = 0; run < 10; run++) {
    const acks = await runAndKill(dir.path, run, 'spread');
    recordAcks(ledger, acks);
    totalAcks += acks.length;
    const walFiles = (await readdir(join(dir.path, 'commit-log'))).filter((f) => f.endsWith('.wal'));
    if (walFiles.length > 0) killsWithCommitLog++;
    await verifyAfterCrash(dir.path, 'spread', ledger);
  }
  assert.ok(totalAcks > 10, `the child acknowledged records (${totalAcks})`);
  assert.ok(killsWithCommitLog > 0, 'some kills left commit-log files for recovery to replay');
});
