import type { Consumer as KafkaClient } from '@platformatic/kafka';
import { TracklaneError } from '@tracklane/core';
import type {
  Consumer,
  LogRecord,
  PollOptions,
  RebalanceListener,
  TopicPartition,
  TopicPartitionOffset,
} from '@tracklane/log';
import { assertConsumerOffset, callRebalanceListener, pollLimits } from '@tracklane/log';
import { diffAssignment, isChange } from './assignment-diff.ts';
import { fetchPartitions } from './fetcher.ts';
import type { Names } from './names.ts';
import { OFFSET_OUT_OF_RANGE } from './records.ts';
import type { StickySubscription } from './sticky-protocol.ts';

export type Client = KafkaClient<Buffer, Buffer, Buffer, Buffer>;

/** What a group member needs from the log that created it. */
export interface ConsumerHost {
  readonly names: Names;
  range(topic: string, partition: number): Promise<{ start: number; end: number }>;
  assertOpen(): void;
  forget(consumer: KafkaGroupConsumer): void;
}

interface Owned {
  topic: string;
  partition: number;
  /** Offset of the next record to return. */
  position: number;
}

const POLL_MAX_BYTES = 8 << 20;
/** Longest single broker-side wait, so a rebalance noticed by the heartbeat is acted on promptly. */
const MAX_FETCH_WAIT_MS = 500;

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * How long `join` waits for the first KIP-848 assignment. The broker hands it out in a heartbeat response,
 * usually the first, but partitions other members must give up first come a heartbeat interval later
 * (group.consumer.heartbeat.interval.ms, 5 s by default); a member that gets nothing stops waiting here.
 */
const FIRST_ASSIGNMENT_WAIT_MS = 6000;

export interface JoinOptions {
  group: string;
  topics: string[];
  from?: 'earliest' | 'latest';
  /** The protocol the client was created for (see group-protocol.ts). */
  protocol: 'consumer' | 'classic';
  /** Classic protocol only: the subscription whose user data tells the leader what this member owns. */
  subscription?: StickySubscription;
}

/**
 * A Kafka consumer-group member. Membership, heartbeats and the rebalance protocol are the client's; either
 * KIP-848's `consumer` protocol (the broker adds and revokes partitions a few at a time, nobody stops), or
 * the classic JoinGroup/SyncGroup with our sticky assignor (sticky-protocol.ts: each member keeps what it
 * holds up to its fair share, so a rebalance moves only what must move). Either way the client's current
 * assignment is diffed against ours (assignment-diff.ts): a partition that stays keeps its position and is
 * never re-sought, and listeners hear only real changes.
 *
 * Positions are ours: on gaining a partition we start at the group's committed offset (else
 * earliest/latest), poll fetches from our positions, and nothing is committed unless `commit` is called, so
 * offsets are committed together with the caller's processed state and never ahead of it.
 */
export class KafkaGroupConsumer implements Consumer {
  readonly group: string;
  private readonly from: 'earliest' | 'latest';
  private readonly owned = new Map<string, Owned>();
  private readonly listeners: RebalanceListener[] = [];
  private readonly subscription: StickySubscription | undefined;
  private syncing: Promise<void> | null = null;
  private closed = false;
  private nextPartition = 0;

  private constructor(
    private readonly client: Client,
    private readonly host: ConsumerHost,
    options: JoinOptions,
  ) {
    this.group = options.group;
    this.from = options.from ?? 'earliest';
    this.subscription = options.subscription;
  }

  static async join(client: Client, host: ConsumerHost, options: JoinOptions): Promise<KafkaGroupConsumer> {
    const consumer = new KafkaGroupConsumer(client, host, options);
    client.topics.trackAll(...options.topics.map((t) => host.names.topic(t)));
    if (options.protocol === 'classic') {
      // Protocols (with our owned-partitions user data) and the sticky assigner come from the client's options.
      await client.joinGroup({});
      client.on('consumer:group:join', () => consumer.scheduleSync());
    } else {
      await joinConsumerProtocol(client);
      // KIP-848 changes arrive in heartbeat responses, with no event of their own; poll also syncs each round.
      client.on('consumer:heartbeat:end', () => setImmediate(() => consumer.scheduleSync()));
    }
    await consumer.sync();
    return consumer;
  }

  get memberId(): string {
    return this.client.memberId ?? '';
  }

  assignment(): TopicPartition[] {
    return [...this.owned.values()].map((o) => ({ topic: o.topic, partition: o.partition }));
  }

  private scheduleSync(): void {
    void this.sync().catch(() => undefined);
  }

  /**
   * Brings `owned` in line with the client's current assignment (serialized). It repeats until a pass finds
   * nothing new, so a caller that joins a pass already under way still sees a change made meanwhile.
   */
  private sync(): Promise<void> {
    if (!this.syncing) {
      this.syncing = (async () => {
        while (await this.syncOnce()) {
          // changed: look again
        }
      })().finally(() => {
        this.syncing = null;
      });
    }
    return this.syncing;
  }

  /** The client's current assignment, in Tracklane topic names. */
  private clientAssignment(): TopicPartition[] {
    const current: TopicPartition[] = [];
    for (const a of this.client.assignments ?? []) {
      const topic = this.host.names.fromKafkaTopic(a.topic);
      if (topic === undefined) continue;
      for (const partition of a.partitions) current.push({ topic, partition });
    }
    return current;
  }

  /** One pass; true when it changed the assignment. */
  private async syncOnce(): Promise<boolean> {
    if (this.closed) return false;
    const change = diffAssignment(this.assignment(), this.clientAssignment());
    if (!isChange(change)) return false;
    for (const tp of change.revoked) this.owned.delete(tpKey(tp.topic, tp.partition));
    if (change.added.length > 0) {
      const committed = await this.committed(change.added);
      await Promise.all(
        change.added.map(async (tp) => {
          let position = committed.get(tpKey(tp.topic, tp.partition));
          if (position === undefined) {
            const range = await this.host.range(tp.topic, tp.partition);
            position = this.from === 'latest' ? range.end : range.start;
          }
          this.owned.set(tpKey(tp.topic, tp.partition), { ...tp, position });
        }),
      );
    }
    if (this.closed) return false;
    const assignment = this.assignment();
    this.subscription?.update(
      assignment.map((tp) => ({ topic: this.host.names.topic(tp.topic), partition: tp.partition })),
    );
    for (const listener of this.listeners) callRebalanceListener(listener, assignment, this.memberId);
    return true;
  }

  private async committed(tps: TopicPartition[]): Promise<Map<string, number>> {
    const byTopic = new Map<string, number[]>();
    for (const tp of tps) {
      let list = byTopic.get(tp.topic);
      if (!list) {
        list = [];
        byTopic.set(tp.topic, list);
      }
      list.push(tp.partition);
    }
    const answer = await this.client.listCommittedOffsets({
      topics: [...byTopic].map(([topic, partitions]) => ({
        topic: this.host.names.topic(topic),
        partitions,
      })),
    });
    const out = new Map<string, number>();
    for (const [kafkaTopic, offsets] of answer) {
      const topic = this.host.names.fromKafkaTopic(kafkaTopic) ?? kafkaTopic;
      offsets.forEach((offset, partition) => {
        // -1: the group never committed this partition.
        if (offset !== undefined && offset >= 0n) out.set(tpKey(topic, partition), Number(offset));
      });
    }
    return out;
  }

  private assertOpen(): void {
    this.host.assertOpen();
    if (this.closed) throw new TracklaneError('E_LOG_CLOSED', `consumer ${this.memberId} is closed`);
  }

  async poll(options?: PollOptions): Promise<LogRecord[]> {
    this.assertOpen();
    const { maxRecords, deadline } = pollLimits(options);
    for (;;) {
      await this.sync();
      const owned = [...this.owned.values()];
      const left = deadline - Date.now();
      if (owned.length === 0) {
        if (left <= 0 || this.closed) return [];
        await new Promise((r) => setTimeout(r, Math.min(left, 100)));
        continue;
      }
      const items = owned.map((o) => ({
        topic: this.host.names.topic(o.topic),
        label: o.topic,
        partition: o.partition,
        offset: o.position,
      }));
      const fetched = await fetchPartitions(this.client, items, {
        maxWaitMs: Math.max(0, Math.min(left, MAX_FETCH_WAIT_MS)),
        maxBytes: POLL_MAX_BYTES,
        maxRecordsPerPartition: maxRecords,
      });
      // A partition revoked while the fetch waited (KIP-848 revokes one at a time, and the client acknowledges
      // at once) must not be returned: take() drops what we no longer own.
      await this.sync();
      const out = await this.take(fetched, maxRecords);
      if (out.length > 0 || this.closed || Date.now() >= deadline) return out;
    }
  }

  /** Applies fetched records to positions (rotating the first partition so none starves). */
  private async take(
    fetched: Awaited<ReturnType<typeof fetchPartitions>>,
    maxRecords: number,
  ): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    const n = fetched.length;
    const first = n === 0 ? 0 : this.nextPartition++ % n;
    for (let i = 0; i < n; i++) {
      const f = fetched[(first + i) % n]!;
      const o = this.owned.get(tpKey(f.label, f.partition));
      // Revoked while the fetch was in flight, or seeked meanwhile: drop what came back.
      if (!o || o.position !== f.offset) continue;
      if (f.errorCode === OFFSET_OUT_OF_RANGE) {
        const range = await this.host.range(f.label, f.partition);
        o.position = Math.min(Math.max(o.position, range.start), range.end);
        continue;
      }
      for (const r of f.records) {
        if (out.length >= maxRecords) break;
        out.push(r);
        o.position = r.offset + 1;
      }
    }
    return out;
  }

  async commit(offsets?: TopicPartitionOffset[]): Promise<void> {
    this.assertOpen();
    const entries =
      offsets ??
      [...this.owned.values()].map((o) => ({ topic: o.topic, partition: o.partition, offset: o.position }));
    for (const e of entries) assertConsumerOffset('commit', e.offset);
    if (entries.length === 0) return;
    try {
      await this.client.commit({
        offsets: entries.map((e) => ({
          topic: this.host.names.topic(e.topic),
          partition: e.partition,
          offset: BigInt(e.offset),
          leaderEpoch: -1,
        })),
      });
    } catch (err) {
      // Typically REBALANCE_IN_PROGRESS / ILLEGAL_GENERATION: the caller retries after the next poll.
      throw new TracklaneError(
        'E_NOT_READY',
        `commit for group ${this.group} failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  seek(target: TopicPartitionOffset): void {
    this.assertOpen();
    const o = this.owned.get(tpKey(target.topic, target.partition));
    if (!o) {
      throw new TracklaneError(
        'E_BAD_ARGUMENT',
        `${this.memberId} does not own ${target.topic}/${target.partition}; seek only owned partitions`,
      );
    }
    assertConsumerOffset('seek', target.offset);
    o.position = target.offset;
  }

  onRebalance(listener: RebalanceListener): void {
    this.listeners.push(listener);
    // The join's rebalance happened before the caller could register, so replay the current assignment once.
    queueMicrotask(() => {
      if (!this.closed) callRebalanceListener(listener, this.assignment(), this.memberId);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.owned.clear();
    await this.syncing?.catch(() => undefined);
    try {
      await this.client.leaveGroup();
    } finally {
      await this.client.close();
      this.host.forget(this);
    }
  }
}

/**
 * Joins with KIP-848's protocol. The client joins such a group only when a message stream starts (its
 * joinGroup is a no-op for this protocol), so we open a stream on no topics and close it at once: the
 * membership and its heartbeats stay (they belong to the client), the subscription is the client's tracked
 * topics, and the stream never fetches. Then wait for the first assignment, as the classic join does.
 */
async function joinConsumerProtocol(client: Client): Promise<void> {
  const stream = await client.consume({ topics: [], autocommit: false });
  await stream.close();
  // The client sets `assignments` after the heartbeat that brings them (behind a metadata lookup), with no
  // event of its own, so look for it rather than listen.
  const deadline = Date.now() + FIRST_ASSIGNMENT_WAIT_MS;
  while (client.assignments === null && Date.now() < deadline && !client.closed) {
    await new Promise((r) => setTimeout(r, 20));
  }
}
