import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MessageToProduce } from '@platformatic/kafka';
import { assignOffsets, type PartitionBase, SendQueue } from '../src/send-queue.ts';

const msg = (partition: number): MessageToProduce => ({ topic: 't', partition, value: Buffer.from('x') });

/** A fake broker: per-partition logs; one batch per partition per request, like a real produce request. */
function fakeBroker() {
  const ends = new Map<number, number>();
  const requests: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const send = async (messages: MessageToProduce[]): Promise<PartitionBase[]> => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    requests.push(messages.length);
    await new Promise((r) => setTimeout(r, 5));
    const bases = new Map<number, number>();
    for (const m of messages) {
      const p = m.partition!;
      if (!bases.has(p)) bases.set(p, ends.get(p) ?? 0);
      ends.set(p, (ends.get(p) ?? 0) + 1);
    }
    inFlight--;
    return [...bases].map(([partition, offset]) => ({ topic: 't', partition, offset: BigInt(offset) }));
  };
  return { send, requests, maxInFlight: () => maxInFlight };
}

describe('Kafka send queue', () => {
  it('numbers the messages of a request from each partition batch base offset', () => {
    const offsets = assignOffsets(
      [msg(0), msg(1), msg(0), msg(0), msg(1)],
      [
        { topic: 't', partition: 0, offset: 100n },
        { topic: 't', partition: 1, offset: 7n },
      ],
    );
    assert.deepEqual(offsets, [100, 7, 101, 102, 8]);
  });

  it('keeps one request in flight and folds appends that wait into the next request', async () => {
    const broker = fakeBroker();
    const queue = new SendQueue(broker.send);
    const results = await Promise.all(Array.from({ length: 10 }, () => queue.enqueue([msg(0), msg(1)])));
    assert.equal(broker.maxInFlight(), 1);
    assert.ok(broker.requests.length < 10, `appends shared requests (${broker.requests.join(',')})`);
    const partition0 = results.map((r) => r[0]).sort((a, b) => a! - b!);
    assert.deepEqual(
      partition0,
      Array.from({ length: 10 }, (_, i) => i),
    );
  });

  it('fails only the appends of a failed request', async () => {
    let calls = 0;
    const queue = new SendQueue(async (messages) => {
      calls++;
      if (calls === 1) throw new Error('broker down');
      return [{ topic: 't', partition: 0, offset: 0n }].slice(0, messages.length > 0 ? 1 : 0);
    });
    await assert.rejects(queue.enqueue([msg(0)]), /broker down/);
    assert.deepEqual(await queue.enqueue([msg(0)]), [0]);
  });
});
