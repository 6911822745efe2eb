import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { partitionStreamConfig } from '../src/stream-config.ts';

describe('NATS stream config', () => {
  it('keeps everything by default: no age or size limit, 2 minute dedup window', () => {
    const c = partitionStreamConfig('tl_t_0', 'tl.t.0', { name: 't', config: { partitions: 1 } }, 3);
    assert.equal(c.storage, 'file');
    assert.equal(c.num_replicas, 3);
    assert.equal(c.max_age, 0);
    assert.equal(c.max_bytes, -1);
    assert.equal(c.duplicate_window, 120_000_000_000);
    assert.deepEqual(c.subjects, ['tl.t.0']);
  });

  it('maps retention per partition, shrinking the dedup window to fit a short max_age', () => {
    const c = partitionStreamConfig(
      'tl_t_1',
      'tl.t.1',
      { name: 't', config: { partitions: 2, retentionMs: 30_000, retentionBytes: 4096, segmentBytes: 1024 } },
      1,
    );
    assert.equal(c.max_age, 30_000_000_000);
    assert.equal(c.max_bytes, 4096);
    assert.equal(c.duplicate_window, 30_000_000_000);
    assert.equal(c.discard, 'old');
  });
});
