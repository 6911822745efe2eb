import { randomBytes } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import { TracklaneError } from '@tracklane/core';
import type {
  Consumer,
  LogRecord,
  PollOptions,
  RebalanceListener,
  TopicPartition,
  TopicPartitionOffset,
} from '@tracklane/log';
import { assertConsumerOffset } from '@tracklane/log';
import { assignRoundRobin, type MemberInfo } from './assignment.ts';
import type { Names } from './names.ts';
import { PartitionFeed } from './partition-feed.ts';

/** What a group member needs from the log that created it. */
export interface ConsumerHost {
  readonly js: JetStreamClient;
  readonly names: Names;
  readonly members: KV;
  readonly owners: KV;
  readonly offsets: KV;
  readonly sessionTimeoutMs: number;
  range(topic: string, partition: number): Promise<{ start: number; end: number }>;
  commit(group: string, offsets: TopicPartitionOffset[]): Promise<void>;
  assertOpen(): void;
  forget(consumer: NatsConsumer): void;
}

interface Owned {
  topic: string;
  partition: number;
  /** Offset of the next record to return. */
  position: number;
  feed: PartitionFeed;
  /** Revision of our claim in the owners bucket, so we only ever release our own claim. */
  claim: number;
}

interface Live extends MemberInfo {
  /** Local clock of the last heartbeat seen; members silent for sessionTimeoutMs are presumed dead. */
  seen: number;
}

const POLL_MAX_BYTES = 8 << 20;
const decoder = new TextDecoder();

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * A consumer-group member over JetStream KV, without a coordinator:
 *
 * - membership: each member heartbeats `<group>.<memberId>` in the members bucket (whose max_age expires a
 *   crashed member's key) and watches the group's keys, so joins and leaves arrive as pushes;
 * - assignment: every member computes the same round-robin assignment from the same member list;
 * - ownership: a member takes a partition only by a compare-and-set claim in the owners bucket, and gives
 *   it up (deleting its claim) as soon as its assignment drops it. A new owner therefore waits for the old
 *   one to let go - or for it to miss its heartbeats - so two live members never read one partition at
 *   once (Kafka's cooperative protocol gives the same guarantee with its two-phase revoke/assign).
 */
export class NatsConsumer implements Consumer {
  readonly group: string;
  readonly memberId: string;
  private readonly info: MemberInfo;
  private readonly from: 'earliest' | 'latest';
  private readonly owned = new Map<string, Owned>();
  private readonly live = new Map<string, Live>();
  private readonly listeners: RebalanceListener[] = [];
  private target: TopicPartition[] = [];
  private closed = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private watchStop: (() => void) | null = null;
  private reconciling: Promise<void> | null = null;
  private again = false;
  private nextPartition = 0;
  private lastReconcile = 0;
  private wakeUp: (() => void) | null = null;
  private failure: unknown = null;

  private constructor(
    private readonly host: ConsumerHost,
    options: { group: string; topics: Record<string, number>; from?: 'earliest' | 'latest' },
  ) {
    this.group = options.group;
    this.from = options.from ?? 'earliest';
    this.memberId = `${process.pid}-${randomBytes(6).toString('hex')}`;
    this.info = { memberId: this.memberId, joined: 0, topics: options.topics };
  }

  static async join(
    host: ConsumerHost,
    options: { group: string; topics: Record<string, number>; from?: 'earliest' | 'latest' },
  ): Promise<NatsConsumer> {
    const consumer = new NatsConsumer(host, options);
    try {
      await consumer.start();
    } catch (err) {
      await consumer.close().catch(() => undefined);
      throw err;
    }
    return consumer;
  }

  private get memberKey(): string {
    return this.host.names.memberKey(this.group, this.memberId);
  }

  private async start(): Promise<void> {
    const { members } = this.host;
    // Members agree on the order because they all read the same stored `joined`; clock skew between hosts
    // changes who counts as older, never whether members agree.
    this.info.joined = Date.now();
    await members.put(this.memberKey, JSON.stringify(this.info));
    // Watch before listing, so a member joining in between is not missed.
    const watch = await members.watch({
      key: this.host.names.membersFilter(this.group),
      include: 'updates',
    });
    this.watchStop = () => watch.stop();
    void (async () => {
      for await (const e of watch) this.onMemberEntry(e);
    })().catch((err: unknown) => this.fail(err));
    const keys = await members.keys(this.host.names.membersFilter(this.group));
    const listed: string[] = [];
    for await (const k of keys) listed.push(k);
    const entries = await Promise.all(listed.map((k) => members.get(k)));
    for (const e of entries) if (e) this.onMemberEntry(e, false);
    this.live.set(this.memberId, { ...this.info, seen: Date.now() });
    const interval = Math.max(50, Math.floor(this.host.sessionTimeoutMs / 3));
    this.heartbeat = setInterval(() => this.beat(), interval);
    this.heartbeat.unref();
    await this.reconcile();
  }

  private onMemberEntry(e: KvEntry, schedule = true): void {
    const id = e.key.slice(e.key.indexOf('.') + 1);
    if (e.operation !== 'PUT') {
      if (id !== this.memberId && this.live.delete(id) && schedule) this.scheduleReconcile();
      return;
    }
    let info: MemberInfo;
    try {
      info = JSON.parse(decoder.decode(e.value)) as MemberInfo;
    } catch {
      return;
    }
    const known = this.live.get(id);
    this.live.set(id, { ...info, seen: Date.now() });
    const changed =
      !known || known.joined !== info.joined || JSON.stringify(known.topics) !== JSON.stringify(info.topics);
    if (changed && schedule) this.scheduleReconcile();
  }

  private beat(): void {
    if (this.closed) return;
    this.host.members.put(this.memberKey, JSON.stringify(this.info)).catch(() => undefined);
    const now = Date.now();
    let changed = false;
    for (const [id, m] of this.live) {
      if (id !== this.memberId && now - m.seen > this.host.sessionTimeoutMs) {
        this.live.delete(id);
        changed = true;
      }
    }
    // Also retries claims still held by a member that has not let go yet.
    if (changed || this.pendingClaims()) this.scheduleReconcile();
  }

  private pendingClaims(): boolean {
    return this.target.length !== this.owned.size;
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.failure = err;
    this.wake();
  }

  private scheduleReconcile(): void {
    void this.reconcile().catch((err: unknown) => this.fail(err));
  }

  /** Serialized: a request arriving during a pass runs one more pass afterwards. */
  private reconcile(): Promise<void> {
    if (this.reconciling) {
      this.again = true;
      return this.reconciling;
    }
    this.reconciling = (async () => {
      try {
        do {
          this.again = false;
          await this.reconcileOnce();
        } while (this.again && !this.closed);
      } finally {
        this.reconciling = null;
      }
    })();
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<void> {
    if (this.closed) return;
    this.lastReconcile = Date.now();
    const assignment = assignRoundRobin([...this.live.values()]);
    this.target = assignment.get(this.memberId) ?? [];
    const wanted = new Set(this.target.map((tp) => tpKey(tp.topic, tp.partition)));
    let changed = false;
    for (const [key, o] of this.owned) {
      if (wanted.has(key)) continue;
      this.owned.delete(key);
      o.feed.stop();
      changed = true;
      await this.release(o);
    }
    const results = await Promise.all(
      this.target.filter((tp) => !this.owned.has(tpKey(tp.topic, tp.partition))).map((tp) => this.claim(tp)),
    );
    for (const o of results) {
      if (!o) continue;
      if (this.closed) {
        o.feed.stop();
        await this.release(o);
        continue;
      }
      this.owned.set(tpKey(o.topic, o.partition), o);
      changed = true;
    }
    if (changed && !this.closed) {
      this.wake();
      const current = this.assignment();
      for (const listener of this.listeners) this.callListener(listener, current);
    }
  }

  private async release(o: Owned): Promise<void> {
    const key = this.host.names.partitionKey(this.group, o.topic, o.partition);
    // previousSeq: if a peer already took over (it thought we were dead), its claim stays.
    await this.host.owners.delete(key, { previousSeq: o.claim }).catch(() => undefined);
  }

  /** Takes the partition if it is free, ours from before, or held by a member no longer alive. */
  private async claim(tp: TopicPartition): Promise<Owned | null> {
    const { owners } = this.host;
    const key = this.host.names.partitionKey(this.group, tp.topic, tp.partition);
    let claim: number;
    try {
      claim = await owners.create(key, this.memberId);
    } catch {
      const entry = await owners.get(key);
      if (!entry) return null;
      if (entry.operation === 'PUT') {
        const holder = entry.string();
        if (holder !== this.memberId && this.live.has(holder)) return null;
      }
      try {
        claim = await owners.update(key, this.memberId, entry.revision);
      } catch {
        return null;
      }
    }
    const committed = await this.committed(tp);
    let position = committed;
    if (position === undefined) {
      const range = await this.host.range(tp.topic, tp.partition);
      position = this.from === 'latest' ? range.end : range.start;
    }
    return { ...tp, position, claim, feed: this.feed(tp.topic, tp.partition, position) };
  }

  private async committed(tp: TopicPartition): Promise<number | undefined> {
    const e = await this.host.offsets.get(this.host.names.partitionKey(this.group, tp.topic, tp.partition));
    if (e?.operation !== 'PUT') return undefined;
    const offset = Number(e.string());
    return Number.isSafeInteger(offset) ? offset : undefined;
  }

  private feed(topic: string, partition: number, from: number): PartitionFeed {
    return new PartitionFeed(
      this.host.js,
      this.host.names.stream(topic, partition),
      topic,
      partition,
      from,
      () => this.wake(),
    );
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private callListener(listener: RebalanceListener, assignment: TopicPartition[]): void {
    try {
      listener(assignment);
    } catch (err) {
      // A throwing listener must not stop this member from taking or giving up partitions.
      process.emitWarning(`onRebalance listener of ${this.memberId} threw: ${(err as Error).message}`);
    }
  }

  assignment(): TopicPartition[] {
    return [...this.owned.values()].map((o) => ({ topic: o.topic, partition: o.partition }));
  }

  private assertOpen(): void {
    this.host.assertOpen();
    if (this.closed) throw new TracklaneError('E_LOG_CLOSED', `consumer ${this.memberId} is closed`);
    if (this.failure) {
      throw new TracklaneError('E_NOT_READY', `consumer ${this.memberId} lost its group membership`, {
        cause: this.failure,
      });
    }
  }

  async poll(options?: PollOptions): Promise<LogRecord[]> {
    this.assertOpen();
    const maxRecords = options?.maxRecords ?? 500;
    if (!Number.isInteger(maxRecords) || maxRecords < 1) {
      throw new TracklaneError('E_BAD_ARGUMENT', 'poll maxRecords must be a positive integer');
    }
    const deadline = Date.now() + (options?.timeoutMs ?? 1000);
    // A partition still held by a departing member is retried here too, not only on the heartbeat.
    if (this.pendingClaims() && Date.now() - this.lastReconcile > 20) await this.reconcile();
    for (;;) {
      const records = this.take(maxRecords);
      if (records.length > 0 || this.closed) return records;
      const left = deadline - Date.now();
      if (left <= 0) return records;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.assertOpen();
    }
  }

  private take(maxRecords: number): LogRecord[] {
    const out: LogRecord[] = [];
    const owned = [...this.owned.values()];
    const n = owned.length;
    // Rotate the starting partition so a busy partition cannot starve the others.
    const first = n === 0 ? 0 : this.nextPartition++ % n;
    let bytesLeft = POLL_MAX_BYTES;
    for (let i = 0; i < n && out.length < maxRecords && bytesLeft > 0; i++) {
      const o = owned[(first + i) % n]!;
      const before = out.length;
      bytesLeft -= o.feed.take(out, maxRecords, bytesLeft);
      if (out.length > before) o.position = out[out.length - 1]!.offset + 1;
    }
    return out;
  }

  async commit(offsets?: TopicPartitionOffset[]): Promise<void> {
    this.assertOpen();
    const entries =
      offsets ??
      [...this.owned.values()].map((o) => ({ topic: o.topic, partition: o.partition, offset: o.position }));
    for (const e of entries) assertConsumerOffset('commit', e.offset);
    if (entries.length > 0) await this.host.commit(this.group, entries);
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
    o.feed.stop();
    o.position = target.offset;
    o.feed = this.feed(o.topic, o.partition, target.offset);
  }

  onRebalance(listener: RebalanceListener): void {
    this.listeners.push(listener);
    // The join's rebalance happened before the caller could register, so replay the current assignment once.
    queueMicrotask(() => {
      if (!this.closed) this.callListener(listener, this.assignment());
    });
  }

  /** Leaves the group: gives up every claim first so the remaining members can take over at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.watchStop?.();
    await this.reconciling?.catch(() => undefined);
    const owned = [...this.owned.values()];
    this.owned.clear();
    for (const o of owned) o.feed.stop();
    await Promise.all(owned.map((o) => this.release(o)));
    await this.host.members.delete(this.memberKey).catch(() => undefined);
    this.wake();
    this.host.forget(this);
  }
}
