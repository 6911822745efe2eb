import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Mutex } from './mutex.ts';

/**
 * The engine's on-disk state: offsets, partition claims, watermarks, dedupe ids, open sessions and window
 * totals, all in one SQLite file so that a checkpoint is a single transaction. WAL with synchronous=NORMAL:
 * a process crash loses nothing committed; a power loss may lose the newest checkpoints, which is still
 * consistent because offsets and state roll back together and the records are simply processed again.
 */
export interface StateDb {
  readonly db: Database.Database;
  /** Serialises transactions that span an await (a checkpoint writes the sink inside its transaction). */
  readonly mutex: Mutex;
  release(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS offsets (topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
  PRIMARY KEY (topic, partition));
CREATE TABLE IF NOT EXISTS claims (topic TEXT NOT NULL, partition INTEGER NOT NULL, owner TEXT NOT NULL,
  PRIMARY KEY (topic, partition));
CREATE TABLE IF NOT EXISTS watermarks (pipeline TEXT NOT NULL, partition INTEGER NOT NULL, watermark REAL,
  PRIMARY KEY (pipeline, partition));
CREATE TABLE IF NOT EXISTS dedupe (pipeline TEXT NOT NULL, partition INTEGER NOT NULL, op INTEGER NOT NULL,
  id TEXT NOT NULL, ts REAL NOT NULL, PRIMARY KEY (pipeline, partition, op, id));
CREATE INDEX IF NOT EXISTS dedupe_by_time ON dedupe (pipeline, partition, op, ts);
CREATE TABLE IF NOT EXISTS sessions (pipeline TEXT NOT NULL, partition INTEGER NOT NULL, key TEXT NOT NULL,
  value TEXT NOT NULL, PRIMARY KEY (pipeline, partition, key));
CREATE TABLE IF NOT EXISTS totals (pipeline TEXT NOT NULL, wkey TEXT NOT NULL, value TEXT NOT NULL,
  closes REAL, PRIMARY KEY (pipeline, wkey));
CREATE INDEX IF NOT EXISTS totals_by_close ON totals (pipeline, closes);
`;

interface Shared {
  handle: Omit<StateDb, 'release'>;
  refs: number;
}

// Engines in one process that share a state file must share one connection: a second connection would
// block the event loop on SQLite's lock while the first awaits its sink inside a transaction.
const open = new Map<string, Shared>();

export function openStateDb(path: string): StateDb {
  const key = path === ':memory:' ? `:memory:${Math.random()}` : resolve(path);
  let shared = open.get(key);
  if (shared === undefined) {
    if (path !== ':memory:') mkdirSync(dirname(key), { recursive: true });
    const db = new Database(path === ':memory:' ? ':memory:' : key);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 10000');
    db.exec(SCHEMA);
    shared = { handle: { db, mutex: new Mutex() }, refs: 0 };
    open.set(key, shared);
  }
  shared.refs++;
  const entry = shared;
  let released = false;
  return {
    db: entry.handle.db,
    mutex: entry.handle.mutex,
    release() {
      if (released) return;
      released = true;
      entry.refs--;
      if (entry.refs === 0) {
        open.delete(key);
        entry.handle.db.close();
      }
    },
  };
}
