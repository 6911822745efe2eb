import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Select, TombstoneCache } from '../src/tombstone-cache.ts';

/** A stand-in for the server's tombstones table that records which queries reached it. */
function fakeServer(rows: [string, string][]) {
  const queries: string[] = [];
  const select = (async (query: string, params?: Record<string, unknown>) => {
    queries.push(query);
    if (query.includes('count()')) {
      // Any stable function of the rows does for the fingerprint here.
      return [{ n: rows.length, h: rows.map((r) => r.join('=')).join(',') }];
    }
    const wanted = params?.ids as string[] | undefined;
    return rows
      .filter(([id]) => wanted === undefined || wanted.includes(id))
      .map(([distinct_id, erased_for]) => ({ distinct_id, erased_for }));
  }) as Select;
  return { rows, queries, select };
}

describe('TombstoneCache', () => {
  it('reads the tombstones once and again only after they changed', async () => {
    const server = fakeServer([['anon-1', 'ada']]);
    const cache = new TombstoneCache();
    assert.deepEqual(await cache.lookup(server.select, ['anon-1', 'bob']), new Map([['anon-1', 'ada']]));
    assert.deepEqual(await cache.lookup(server.select, ['anon-1']), new Map([['anon-1', 'ada']]));
    assert.equal(server.queries.filter((q) => q.includes('FINAL')).length, 1);
    // Another process erases bob.
    server.rows.push(['bob', 'bob']);
    assert.deepEqual(await cache.lookup(server.select, ['bob']), new Map([['bob', 'bob']]));
    assert.equal(server.queries.filter((q) => q.includes('FINAL')).length, 2);
  });

  it('does not read the batch ids when there are no tombstones', async () => {
    const server = fakeServer([]);
    const cache = new TombstoneCache();
    let read = false;
    const ids = (function* () {
      read = true;
      yield 'x';
    })();
    assert.equal((await cache.lookup(server.select, ids)).size, 0);
    assert.equal(read, false);
  });

  it('looks ids up on the server instead of holding more tombstones than its bound', async () => {
    const server = fakeServer([
      ['a', 'a'],
      ['b', 'b'],
      ['c', 'c'],
    ]);
    const cache = new TombstoneCache(2);
    assert.deepEqual(await cache.lookup(server.select, ['b', 'z', 'b']), new Map([['b', 'b']]));
    assert.ok(server.queries.some((q) => q.includes('IN {ids:Array(String)}')));
    assert.ok(!server.queries.some((q) => q.endsWith('FROM tombstones FINAL')));
  });
});
