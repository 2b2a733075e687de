import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, Schemas, type Schema } from '@ferry/core';
import { run, sourceRecord, transform } from './helpers.js';

const row: Schema = Schemas.struct(
  [
    ['id', Schemas.int32()],
    ['name', Schemas.string(true)],
  ],
  { name: 'pg.public.users.Value', optional: true },
);
const source: Schema = Schemas.struct(
  [
    ['version', Schemas.string()],
    ['connector', Schemas.string()],
    ['ts_ms', Schemas.int64()],
    ['db', Schemas.string()],
    ['schema', Schemas.string()],
    ['table', Schemas.string()],
    ['lsn', Schemas.int64(true)],
  ],
  { name: 'io.debezium.connector.postgresql.Source' },
);
const envelope: Schema = Schemas.struct(
  [
    ['before', row],
    ['after', row],
    ['source', source],
    ['op', Schemas.string()],
    ['ts_ms', Schemas.int64(true)],
  ],
  { name: 'pg.public.users.Envelope' },
);
const src = { version: '1', connector: 'postgresql', ts_ms: 1700000000000, db: 'test', schema: 'public', table: 'users', lsn: 123456 };
const event = (op: string, before: unknown, after: unknown) => ({ before, after, source: src, op, ts_ms: 1700000000500 });
const key = { id: 1 };
const keySchema = Schemas.struct([['id', Schemas.int32()]]);
const rec = (value: unknown, schema: Schema | null = envelope) =>
  sourceRecord({ topic: 'pg.public.users', keySchema, key, valueSchema: schema, value });

describe('ExtractNewRecordState', () => {
  it('unwraps inserts, updates and snapshot reads to the after row and its schema', () => {
    const t = transform('io.debezium.transforms.ExtractNewRecordState');
    for (const op of ['c', 'u', 'r']) {
      const out = run(t, rec(event(op, op === 'u' ? { id: 1, name: 'old' } : null, { id: 1, name: 'Ann' })))!;
      assert.deepEqual(out.value, { id: 1, name: 'Ann' });
      assert.deepEqual(out.valueSchema, row);
      assert.deepEqual(out.key, key);
      assert.equal(out.keySchema, keySchema);
    }
  });

  it('drops deletes and tombstones by default', () => {
    const t = transform('ExtractNewRecordState');
    assert.equal(run(t, rec(event('d', { id: 1, name: 'Ann' }, null))), null);
    assert.equal(run(t, rec(null, null)), null);
  });

  it('rewrites deletes with __deleted and keeps tombstones when asked', () => {
    const t = transform('ExtractNewRecordState', { 'delete.handling.mode': 'rewrite', 'drop.tombstones': 'false' });
    const del = run(t, rec(event('d', { id: 1, name: 'Ann' }, null)))!;
    assert.deepEqual(del.value, { id: 1, name: 'Ann', __deleted: 'true' });
    const ins = run(t, rec(event('c', null, { id: 2, name: 'Bo' })))!;
    assert.deepEqual(ins.value, { id: 2, name: 'Bo', __deleted: 'false' });
    assert.equal(del.valueSchema, ins.valueSchema);
    assert.deepEqual(del.valueSchema!.fields!.at(-1), { field: '__deleted', type: 'string', optional: true });
    assert.equal(del.valueSchema!.name, 'pg.public.users.Value');
    const tomb = rec(null, null);
    assert.equal(t.apply(tomb), tomb);
  });

  it('turns deletes into null values with delete.handling.mode=none', () => {
    const t = transform('ExtractNewRecordState', { 'delete.handling.mode': 'none' });
    const out = run(t, rec(event('d', { id: 1, name: 'Ann' }, null)))!;
    assert.equal(out.value, null);
    assert.deepEqual(out.key, key);
  });

  it('accepts delete.tombstone.handling.mode', () => {
    const t = transform('ExtractNewRecordState', { 'delete.tombstone.handling.mode': 'rewrite-with-tombstone' });
    assert.equal((run(t, rec(event('d', { id: 1, name: null }, null)))!.value as Record<string, unknown>).__deleted, 'true');
    assert.notEqual(run(t, rec(null, null)), null);
  });

  it('adds change metadata as fields and headers', () => {
    const t = transform('ExtractNewRecordState', { 'add.fields': 'op,table,lsn,source.ts_ms,ts_ms', 'add.headers': 'db' });
    const out = run(t, rec(event('u', null, { id: 1, name: 'Ann' })))!;
    assert.deepEqual(out.value, {
      id: 1,
      name: 'Ann',
      __op: 'u',
      __table: 'users',
      __lsn: 123456,
      __source_ts_ms: 1700000000000,
      __ts_ms: 1700000000500,
    });
    assert.deepEqual(
      out.valueSchema!.fields!.map((f) => [f.field, f.type, f.optional]),
      [
        ['id', 'int32', false],
        ['name', 'string', true],
        ['__op', 'string', true],
        ['__table', 'string', true],
        ['__lsn', 'int64', true],
        ['__source_ts_ms', 'int64', true],
        ['__ts_ms', 'int64', true],
      ],
    );
    assert.deepEqual(out.headers, [{ key: '__db', value: 'test', schema: { type: 'string', optional: true } }]);
  });

  it('works on schemaless change events', () => {
    const t = transform('ExtractNewRecordState', { 'add.fields': 'op,source.ts_ms', 'add.fields.prefix': 'cdc_' });
    const out = run(t, rec(event('c', null, { id: 3, name: 'Cy' }), null))!;
    assert.deepEqual(out.value, { id: 3, name: 'Cy', cdc_op: 'c', cdc_source_ts_ms: 1700000000000 });
    assert.equal(out.valueSchema, null);
  });

  it('passes records that are not change events through and drops truncates', () => {
    const t = transform('ExtractNewRecordState');
    const heartbeat = sourceRecord({ value: { ts_ms: 1 }, valueSchema: Schemas.struct([['ts_ms', Schemas.int64()]]) });
    assert.equal(t.apply(heartbeat), heartbeat);
    const plain = sourceRecord({ value: 'text' });
    assert.equal(t.apply(plain), plain);
    assert.equal(run(t, rec(event('t', null, null))), null);
  });

  it('fails a record when add.fields names a field the event lacks, and validates its options', () => {
    const t = transform('ExtractNewRecordState', { 'add.fields': 'nope' });
    assert.throws(() => run(t, rec(event('c', null, { id: 1, name: 'x' }))), /no field nope/);
    assert.throws(
      () => transform('ExtractNewRecordState', { 'delete.handling.mode': 'explode' }),
      (e: unknown) => e instanceof ConfigError && 'delete.handling.mode' in e.fieldErrors,
    );
  });
});
