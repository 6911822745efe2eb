import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clickhouseDialect,
  parsePropertyRef,
  postgresDialect,
  QueryBuilder,
  TrendsRequestSchema,
  validateRequest,
} from '@tracklane/analytics';

describe('property references', () => {
  it('maps bare names to properties, roots to their JSON column, columns to fixed SQL', () => {
    assert.deepEqual(parsePropertyRef('plan', '/p'), { kind: 'json', root: 'properties', keys: ['plan'] });
    assert.deepEqual(parsePropertyRef('context.page.path', '/p'), {
      kind: 'json',
      root: 'context',
      keys: ['page', 'path'],
    });
    assert.deepEqual(parsePropertyRef('user_id', '/p'), { kind: 'column', sql: 'e.user_id' });
  });

  it('rejects anything that could leave the JSON path, naming the field', () => {
    for (const ref of ['a"b', "a'b", 'a b', 'a[0]', 'a..b', '', 'properties.', 'a.b.c.d.e.f.g.h.i', 'x)--']) {
      assert.throws(
        () => parsePropertyRef(ref, '/filters/2/property'),
        (err: { code: string; fields: { path: string }[] }) =>
          err.code === 'E_VALIDATION' && err.fields[0]!.path === '/filters/2/property',
        ref,
      );
    }
  });
});

describe('QueryBuilder', () => {
  it('binds every value and the JSON path instead of writing them into SQL', () => {
    const q = new QueryBuilder('Europe/Paris');
    const sql = q.filter(
      { property: 'plan', operator: 'in', value: ["pro' OR 1=1 --", 'team'] },
      '/filters/0',
    );
    assert.equal(
      sql,
      '(json_extract_string(e.properties, $1) = $2 OR json_extract_string(e.properties, $1) = $3)',
    );
    assert.deepEqual(q.params, ['$."plan"', "pro' OR 1=1 --", 'team']);
    assert.equal(q.localTime(), "timezone($4, timezone('UTC', e.timestamp))");
    assert.equal(q.params[3], 'Europe/Paris');
  });

  it('treats a missing property as not equal and compares numbers as numbers', () => {
    const q = new QueryBuilder();
    assert.equal(
      q.filter({ property: 'plan', operator: 'neq', value: 'free' }, '/f'),
      '(json_extract_string(e.properties, $1) IS NULL OR NOT (json_extract_string(e.properties, $1) = $2))',
    );
    const n = new QueryBuilder();
    assert.equal(
      n.filter({ property: 'amount', operator: 'gte', value: 30 }, '/f'),
      '(TRY_CAST(json_extract_string(e.properties, $1) AS DOUBLE) >= $2)',
    );
  });

  it('binds JSON path keys and values on PostgreSQL and ClickHouse too', () => {
    const hostile = "pro' OR 1=1 --";
    const pg = new QueryBuilder('Europe/Paris', postgresDialect);
    assert.equal(
      pg.filter({ property: 'item.sku', operator: 'contains', value: hostile }, '/f'),
      '((strpos(lower((e.properties #>> $1::text[])), lower($2)) > 0))',
    );
    assert.deepEqual(pg.params, ['{"item","sku"}', hostile]);
    const ch = new QueryBuilder('UTC', clickhouseDialect);
    const sql = ch.filter({ property: 'item.sku', operator: 'eq', value: hostile }, '/f');
    assert.ok(!sql.includes('sku') && !sql.includes(hostile), sql);
    assert.deepEqual(ch.params, ['item', 'sku', hostile]);
    assert.match(sql, /^\(multiIf\(JSONType\(e\.properties, \$1, \$2\) = 'String'/);
  });

  it('rejects comparison operators without one number', () => {
    assert.throws(
      () => new QueryBuilder().filter({ property: 'a', operator: 'gt', value: 'ten' }, '/filters/0'),
      {
        code: 'E_VALIDATION',
      },
    );
  });
});

describe('request validation', () => {
  it('names every bad field', () => {
    assert.throws(
      () => validateRequest(TrendsRequestSchema, { event: '', from: '2026-01-02', to: 'soon', extra: 1 }),
      (err: { fields: { path: string }[] }) => {
        const paths = err.fields.map((f) => f.path).sort();
        assert.deepEqual(paths, ['/event', '/extra', '/from', '/to']);
        return true;
      },
    );
    const day = (d: number) => `2026-01-0${d}T00:00:00Z`;
    assert.throws(() => validateRequest(TrendsRequestSchema, { event: 'x', from: day(2), to: day(1) }), {
      message: /\/to must be after from/,
    });
  });
});
