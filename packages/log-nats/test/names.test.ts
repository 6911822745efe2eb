import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Names, token, untoken } from '../src/names.ts';

describe('NATS names', () => {
  it('encodes topic names into one subject/stream token, reversibly and without collisions', () => {
    const names = ['events', 'a.b', 'a_db', 'a__b', 'a_.b', '.x', 'x-y_z.w'];
    const tokens = names.map(token);
    for (const t of tokens) assert.match(t, /^[A-Za-z0-9_-]+$/);
    assert.equal(new Set(tokens).size, names.length);
    assert.deepEqual(tokens.map(untoken), names);
  });

  it('gives each partition its own stream and subject under the namespace', () => {
    const n = new Names('tl');
    assert.equal(n.stream('web.events', 3), 'tl_web_devents_3');
    assert.equal(n.subject('web.events', 3), 'tl.web_devents.3');
    assert.equal(n.partitionKey('my.group', 'web.events', 3), 'my_dgroup.web_devents.3');
    assert.equal(n.membersFilter('g'), 'g.*');
  });

  it('rejects a namespace that is not a single token', () => {
    assert.throws(() => new Names('a.b'), { code: 'E_CONFIG' });
    assert.throws(() => new Names(''), { code: 'E_CONFIG' });
  });
});
