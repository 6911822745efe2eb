import { randomBytes } from 'node:crypto';
import { debuglog } from 'node:util';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
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
import { assertConsumerOffset, callRebalanceListener, pollLimits } from '@tracklane/log';
import { assignRoundRobin, type MemberInfo } from './assignment.ts';
import type { Names } from './names.ts';
import { PartitionFeed } from './partition-feed.ts';
import { isTransient, retryTransient } from './transient.ts';

/** What a group member needs from the log that created it. */
export interface ConsumerHost {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: Names;
  readonly members: KV;
  readonly owners: KV;
  readonly offsets: KV;
  readonly sessionTimeoutMs: number;
  range(topic: string, partition: number): Promise<{ start: number; end: number }>;
  readBySequence(topic: string, partition: number, from: number, count: number): Promise<LogRecord[]>;
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
  /** Revision of the partition's committed offset as we last read or wrote it; 0 when there is none. */
  committed: number;
}

/** `NODE_DEBUG=tracklane-nats` traces group changes and feed restarts (see docs/scaling-out.md). */
const debug = debuglog('tracklane-nats');
const POLL_MAX_BYTES = 8 << 20;
const decoder = new TextDecoder();

function parseMember(e: KvEntry): MemberInfo | null {
  try {
    return JSON.parse(decoder.decode(e.value)) as MemberInfo;
  } catch {
    return null;
  }
}

/** JetStream's "wrong last sequence": a compare-and-set write lost to another writer. */
function isWrongRevision(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence;
}

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * A consumer-group member over JetStream KV, without a coordinator:
 *
 * - membership: each member heartbeats `<group>.<memberId>` in the members bucket (whose max_age expires a
 *   crashed member's key) and re-reads the group's keys on every beat; a watch makes joins and leaves
 *   arrive sooner, but only the bucket decides who is alive;
 * - assignment: every member computes the same round-robin assignment from the same member list;
 * - ownership: a member takes a partition only by a compare-and-set claim in the owners bucket, and gives
 *   it up (deleting its claim) as soon as its assignment drops it. A new owner therefore waits for the old
 *   one to let go - or for its key to expire - so two live members do not read one partition at once
 *   (Kafka's cooperative protocol gives the same guarantee with its two-phase revoke/assign). A member cut
 *   off from the cluster for longer than the session timeout is taken over; it finds its claims gone on
 *   its next beat and drops them, so both read one partition for at most a beat (at-least-once).
 */
export class NatsConsumer implements Consumer {
  readonly group: string;
  readonly memberId: string;
  private readonly info: MemberInfo;
  private readonly from: 'earliest' | 'latest';
  private readonly owned = new Map<string, Owned>();
  private readonly live = new Map<string, MemberInfo>();
  private readonly listeners: RebalanceListener[] = [];
  private target: TopicPartition[] = [];
  private closed = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private watchStop: (() => void) | null = null;
  private watchStarting = false;
  private refreshing: Promise<void> | null = null;
  /** Set by each beat: the next reconcile pass re-reads our claims, to drop any a peer took over. */
  private verifyClaims = false;
  private reconciling: Promise<void> | null = null;
  private again = false;
  private nextPartition = 0;
  private lastReconcile = 0;
  private wakeUp: (() => void) | null = null;
  private commits: Promise<void> = Promise.resolve();
  private woken = false;
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
    await this.startWatch();
    await retryTransient(() => this.refreshMembers());
    const interval = Math.max(50, Math.floor(this.host.sessionTimeoutMs / 3));
    this.heartbeat = setInterval(() => this.beat(), interval);
    this.heartbeat.unref();
    await this.reconcile();
  }

  /**
   * The watch only makes joins and leaves arrive sooner; the members list read on every beat is the truth.
   * Its ordered consumer is R1 and dies with its node, so when it ends it is simply recreated on a beat.
   */
  private async startWatch(): Promise<void> {
    const watch = await this.host.members.watch({
      key: this.host.names.membersFilter(this.group),
      include: 'updates',
    });
    this.watchStop = () => watch.stop();
    void (async () => {
      for await (const e of watch) this.onMemberEntry(e);
    })()
      .catch((err: unknown) => debug('member %s: members watch failed: %s', this.memberId, err))
      .finally(() => {
        if (this.watchStop) debug('member %s: members watch ended; recreating it', this.memberId);
        this.watchStop = null;
      });
  }

  private onMemberEntry(e: KvEntry): void {
    const id = e.key.slice(e.key.indexOf('.') + 1);
    if (e.operation !== 'PUT') {
      if (id !== this.memberId && this.live.delete(id)) this.scheduleReconcile();
      return;
    }
    const info = parseMember(e);
    if (info && this.setLive(id, info)) this.scheduleReconcile();
  }

  /** Records a member; true when the assignment may change. */
  private setLive(id: string, info: MemberInfo): boolean {
    const known = this.live.get(id);
    this.live.set(id, info);
    return (
      !known || known.joined !== info.joined || JSON.stringify(known.topics) !== JSON.stringify(info.topics)
    );
  }

  /**
   * Reads the group's members from the bucket: the keys still there (max_age removes a member that stopped
   * heartbeating, on the server's clock) and their values. A member is only ever presumed dead because the
   * bucket says so, never because this member stopped hearing from it: after a node loss it is often this
   * member's own connection or watch that is broken, and presuming everyone else dead then made every member
   * take every partition. Throws if the bucket cannot be read; the caller keeps the members it knew.
   */
  private async refreshMembers(): Promise<boolean> {
    const { members, names } = this.host;
    // The KV layout (ADR-8): bucket B is stream KV_B, key K is subject $KV.B.K.
    const prefix = `$KV.${names.membersBucket}.`;
    const info = await this.host.jsm.streams.info(`KV_${names.membersBucket}`, {
      subjects_filter: `${prefix}${names.membersFilter(this.group)}`,
    });
    const keys = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
    const entries = await Promise.all(keys.map((k) => members.get(k)));
    if (this.closed) return false;
    const listed = new Map<string, MemberInfo>();
    for (const e of entries) {
      const member = e?.operation === 'PUT' ? parseMember(e) : null;
      if (member) listed.set(e!.key.slice(e!.key.indexOf('.') + 1), member);
    }
    listed.set(this.memberId, this.info);
    let changed = false;
    for (const id of this.live.keys()) {
      if (!listed.has(id)) {
        debug('member %s: %s left the group (its key is gone)', this.memberId, id);
        this.live.delete(id);
        changed = true;
      }
    }
    for (const [id, member] of listed) if (this.setLive(id, member)) changed = true;
    return changed;
  }

  private beat(): void {
    if (this.closed) return;
    this.host.members.put(this.memberKey, JSON.stringify(this.info)).catch(() => undefined);
    if (!this.watchStop && !this.watchStarting) {
      this.watchStarting = true;
      this.startWatch()
        .catch((err: unknown) => debug('member %s: cannot watch members: %s', this.memberId, err))
        .finally(() => {
          this.watchStarting = false;
        });
    }
    if (this.refreshing) return;
    // Every beat also checks our claims and retries claims still held by a member that has not let go.
    this.refreshing = this.refreshMembers()
      .catch((err: unknown) => {
        debug('member %s: cannot read the members (%s); keeping the last known', this.memberId, err);
        return false;
      })
      .then((changed) => {
        this.verifyClaims = true;
        // A pass still running takes the verification up on its next round only if something changed:
        // beats alone must not keep a slow pass (during an election) looping forever.
        if (changed || !this.reconciling) this.scheduleReconcile();
      })
      .finally(() => {
        this.refreshing = null;
      });
  }

  private pendingClaims(): boolean {
    return this.target.length !== this.owned.size;
  }

  /**
   * Stops this member for good: poll and commit then throw. It also stops heartbeating, so that its key
   * expires and the other members take its partitions over instead of waiting on a member that can no
   * longer read them.
   */
  private fail(err: unknown): void {
    if (this.closed || this.failure) return;
    debug('member %s failed: %s', this.memberId, err);
    this.failure = err;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.wake();
  }

  private scheduleReconcile(): void {
    void this.reconcile().catch((err: unknown) => {
      // A cluster in an election refuses calls for a while; the next beat runs another pass.
      if (isTransient(err)) debug('member %s: reconcile pass failed: %s', this.memberId, err);
      else this.fail(err);
    });
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
    if (this.verifyClaims) {
      this.verifyClaims = false;
      changed = await this.dropLostClaims();
    }
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
      for (const listener of this.listeners) callRebalanceListener(listener, current, this.memberId);
    }
  }

  /**
   * Drops the partitions whose claim is no longer ours: a peer that saw our key expire (we could not
   * heartbeat, e.g. while our node was down) took them over. Without this, both kept reading them and the
   * one that had lost them could still commit. A claim that cannot be read now is kept until the next beat.
   */
  private async dropLostClaims(): Promise<boolean> {
    const owned = [...this.owned];
    const entries = await Promise.all(
      owned.map(([, o]) =>
        this.host.owners
          .get(this.host.names.partitionKey(this.group, o.topic, o.partition))
          .catch(() => undefined),
      ),
    );
    let dropped = false;
    for (let i = 0; i < owned.length; i++) {
      const [key, o] = owned[i]!;
      const entry = entries[i];
      // null (no message at all for the key) is never a real answer for a key we claimed: a release or a
      // takeover leaves a message. It is a read that went wrong, as undefined is a read that failed.
      if (!entry || this.owned.get(key) !== o) continue;
      if (entry.operation === 'PUT' && entry.revision === o.claim) continue;
      debug('member %s: lost its claim on %s/%d (%s)', this.memberId, o.topic, o.partition, entry.operation);
      this.owned.delete(key);
      o.feed.stop();
      dropped = true;
    }
    return dropped;
  }

  private async release(o: Owned): Promise<void> {
    const key = this.host.names.partitionKey(this.group, o.topic, o.partition);
    // previousSeq: if a peer already took over (it thought we were dead), its claim stays.
    await this.host.owners.delete(key, { previousSeq: o.claim }).catch(() => undefined);
  }

  /** claimOnce, with a failed call during an election meaning "not now": the next beat retries. */
  private async claim(tp: TopicPartition): Promise<Owned | null> {
    try {
      return await this.claimOnce(tp);
    } catch (err) {
      if (!isTransient(err)) throw err;
      debug('member %s: cannot claim %s/%d yet: %s', this.memberId, tp.topic, tp.partition, err);
      return null;
    }
  }

  /** Takes the partition if it is free, ours from before, or held by a member no longer alive. */
  private async claimOnce(tp: TopicPartition): Promise<Owned | null> {
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
    let position = committed.offset;
    if (position === undefined) {
      const range = await this.host.range(tp.topic, tp.partition);
      position = this.from === 'latest' ? range.end : range.start;
    }
    return {
      ...tp,
      position,
      claim,
      committed: committed.revision,
      feed: this.feed(tp.topic, tp.partition, position),
    };
  }

  private async committed(tp: TopicPartition): Promise<{ offset: number | undefined; revision: number }> {
    const e = await this.host.offsets.get(this.host.names.partitionKey(this.group, tp.topic, tp.partition));
    if (!e) return { offset: undefined, revision: 0 };
    const offset = e.operation === 'PUT' ? Number(e.string()) : Number.NaN;
    return { offset: Number.isSafeInteger(offset) ? offset : undefined, revision: e.revision };
  }

  private feed(topic: string, partition: number, from: number): PartitionFeed {
    return new PartitionFeed(
      this.host.js,
      this.host.names.stream(topic, partition),
      topic,
      partition,
      from,
      () => this.wake(),
      async () => (await this.host.range(topic, partition)).end,
      (from, count) => this.host.readBySequence(topic, partition, from, count),
    );
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    // Nobody waiting: the next poll looks again before it sleeps, so a wake between its take and its wait
    // is not lost.
    if (w) w();
    else this.woken = true;
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
    const { maxRecords, deadline } = pollLimits(options);
    // A partition still held by a departing member is retried here too, not only on the heartbeat. Not
    // awaited: during an election a pass can take seconds (and beats keep asking for more), and the
    // partitions already owned must keep flowing meanwhile; a claim that succeeds wakes this poll.
    if (this.pendingClaims() && Date.now() - this.lastReconcile > 20) this.scheduleReconcile();
    for (;;) {
      const records = this.take(maxRecords);
      if (records.length > 0 || this.closed) return records;
      const left = deadline - Date.now();
      if (left <= 0) return records;
      if (this.woken) {
        this.woken = false;
        continue;
      }
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
    if (entries.length === 0) return;
    // Serialized: each write to an owned partition expects the revision the previous one produced.
    const run = this.commits.then(() => this.commitEntries(entries));
    this.commits = run.catch((err: unknown) => {
      // The caller retries (the storage writer does, until it succeeds); traced because a commit failing
      // after the last records, with none retrying it, looks like a stalled partition (docs/scaling-out.md).
      debug('member %s: commit failed: %s', this.memberId, err);
    });
    await run;
  }

  /**
   * Owned partitions are written by compare-and-set on the revision this member last read or wrote, so a
   * member that was taken over while cut off (its peer claimed the partition and committed since) cannot
   * move the group's offset back; its write is refused and it drops the partition. Offsets of partitions
   * it does not own are written as given.
   */
  private async commitEntries(entries: TopicPartitionOffset[]): Promise<void> {
    const others: TopicPartitionOffset[] = [];
    const owned: Array<[number, Owned]> = [];
    for (const e of entries) {
      const o = this.owned.get(tpKey(e.topic, e.partition));
      if (o) owned.push([e.offset, o]);
      else others.push(e);
    }
    if (others.length > 0) await this.host.commit(this.group, others);
    let dropped = false;
    await Promise.all(
      owned.map(async ([offset, o]) => {
        const key = this.host.names.partitionKey(this.group, o.topic, o.partition);
        try {
          o.committed =
            o.committed === 0
              ? await this.host.offsets.create(key, String(offset))
              : await this.host.offsets.update(key, String(offset), o.committed);
        } catch (err) {
          if (!isWrongRevision(err)) throw err;
          if (this.owned.get(tpKey(o.topic, o.partition)) !== o) return;
          debug(
            'member %s: %s/%d was committed by another member; dropping it',
            this.memberId,
            o.topic,
            o.partition,
          );
          this.owned.delete(tpKey(o.topic, o.partition));
          o.feed.stop();
          dropped = true;
        }
      }),
    );
    if (dropped) {
      const current = this.assignment();
      for (const listener of this.listeners) callRebalanceListener(listener, current, this.memberId);
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
    o.feed.stop();
    o.position = target.offset;
    o.feed = this.feed(o.topic, o.partition, target.offset);
  }

  onRebalance(listener: RebalanceListener): void {
    this.listeners.push(listener);
    // The join's rebalance happened before the caller could register, so replay the current assignment once.
    queueMicrotask(() => {
      if (!this.closed) callRebalanceListener(listener, this.assignment(), this.memberId);
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
