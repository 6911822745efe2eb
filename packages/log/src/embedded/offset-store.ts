import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './fs-util.ts';

type GroupOffsets = Map<string, Map<number, number>>;

interface PendingSave {
  /** A save of the group's current state is wanted. */
  dirty: boolean;
  running: Promise<void> | null;
}

/**
 * Committed consumer-group offsets: in memory for reads, persisted per group to `groups/<group>.json` with an
 * atomic replace (tmp, fsync, rename, fsync dir). Concurrent commits coalesce: while one save runs, later
 * commits mark the group dirty and all of them are covered by the one next save.
 */
export class OffsetStore {
  private readonly groups = new Map<string, GroupOffsets>();
  private readonly saves = new Map<string, PendingSave>();

  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<OffsetStore> {
    await mkdir(dir, { recursive: true });
    const store = new OffsetStore(dir);
    for (const name of await readdir(dir)) {
      if (!name.endsWith('.json')) continue;
      const data = JSON.parse(await readFile(join(dir, name), 'utf8')) as {
        offsets: Record<string, Record<string, number>>;
      };
      const topics: GroupOffsets = new Map();
      for (const [topic, partitions] of Object.entries(data.offsets)) {
        topics.set(topic, new Map(Object.entries(partitions).map(([p, o]) => [Number(p), o])));
      }
      store.groups.set(name.slice(0, -'.json'.length), topics);
    }
    return store;
  }

  get(group: string, topic: string): Map<number, number> {
    return new Map(this.groups.get(group)?.get(topic));
  }

  committed(group: string, topic: string, partition: number): number | undefined {
    return this.groups.get(group)?.get(topic)?.get(partition);
  }

  async commit(
    group: string,
    entries: { topic: string; partition: number; offset: number }[],
  ): Promise<void> {
    let topics = this.groups.get(group);
    if (!topics) {
      topics = new Map();
      this.groups.set(group, topics);
    }
    for (const e of entries) {
      let partitions = topics.get(e.topic);
      if (!partitions) {
        partitions = new Map();
        topics.set(e.topic, partitions);
      }
      partitions.set(e.partition, e.offset);
    }
    let save = this.saves.get(group);
    if (!save) {
      save = { dirty: false, running: null };
      this.saves.set(group, save);
    }
    save.dirty = true;
    save.running ??= this.saveLoop(group, save);
    return save.running;
  }

  private async saveLoop(group: string, save: PendingSave): Promise<void> {
    try {
      while (save.dirty) {
        save.dirty = false;
        const offsets: Record<string, Record<string, number>> = {};
        for (const [topic, partitions] of this.groups.get(group) ?? []) {
          offsets[topic] = Object.fromEntries(partitions);
        }
        await writeFileAtomic(join(this.dir, `${group}.json`), `${JSON.stringify({ group, offsets })}\n`);
      }
    } finally {
      save.running = null;
    }
  }

  async flush(): Promise<void> {
    for (const save of this.saves.values()) if (save.running) await save.running.catch(() => undefined);
  }
}
