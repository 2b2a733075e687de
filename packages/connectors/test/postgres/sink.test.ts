import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { DataError, LogicalNames, type Schema, type SinkRecord } from '@ferry/core';
import { PostgresSink } from '../../src/postgres/index.js';
import { PostgresSinkTask } from '../../src/postgres/sink-task.js';
import { admin, PG_URL, sinkContext, uid, type FakeSinkContext } from './helpers.js';

const id = uid();
const T = (n: string) => `sink_${n}_${id}`;
let db: pg.Client;

before(async () => {
  db = await admin();
});
after(async () => {
  const r = await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE $1`, [`%_${id}`]);
  for (const row of r.rows) await db.query(`DROP TABLE IF EXISTS "${row.tablename}"`);
  await db.query(`DELETE FROM ferry_sink_offsets WHERE connector LIKE $1`, [`%${id}%`]).catch(() => {});
  await db.end();
});

async function startSink(config: Record<string, string>, ctx: FakeSinkContext): Promise<PostgresSinkTask> {
  const task = (await PostgresSink.create()).createTask() as PostgresSinkTask;
  await task.start({ 'connection.url': PG_URL, ...config }, ctx);
  return task;
}

const keySchema: Schema = { type: 'struct', name: 'Key', fields: [{ field: 'id', type: 'int32', optional: false }] };
const valueSchema: Schema = {
  type: 'struct',
  name: 'Value',
  fields: [
    { field: 'id', type: 'int32', optional: false },
    { field: 'name', type: 'string', optional: true },
    { field: 'price', type: 'bytes', optional: true, name: LogicalNames.Decimal, version: 1, parameters: { scale: '2' } },
    { field: 'at', type: 'int64', optional: true, name: LogicalNames.Timestamp, version: 1 },
    { field: 'tags', type: 'array', optional: true, items: { type: 'string', optional: true } },
  ],
};

let offset = 0;
function rec(topic: string, key: unknown, value: unknown, opts: Partial<SinkRecord> = {}): SinkRecord {
  return { topic, kafkaPartition: 0, kafkaOffset: offset++, key, value, keySchema: key === null ? null : keySchema, valueSchema: value === null ? null : valueSchema, ...opts };
}
const row = (i: number, name = `n${i}`) => ({ id: i, name, price: `${i}.50`, at: new Date(Date.UTC(2024, 0, i)), tags: ['a', `b"${i}`] });

async function rows(t: string, order = 'id'): Promise<Record<string, unknown>[]> {
  return (await db.query(`SELECT * FROM ${t} ORDER BY ${order}`)).rows;
}

describe('PostgresSink', () => {
  it('upsert with auto.create: one bulk transaction folds repeated keys, deletes and tombstones', async () => {
    const topic = T('up');
    const ctx = sinkContext();
    const task = await startSink({ 'insert.mode': 'upsert', 'pk.mode': 'record_key', 'auto.create': 'true', 'delete.enabled': 'true' }, ctx);
    const batch: SinkRecord[] = [];
    for (let i = 1; i <= 10; i++) batch.push(rec(topic, { id: i }, row(i)));
    batch.push(rec(topic, { id: 2 }, row(2, 'two-updated')));
    batch.push(rec(topic, { id: 3 }, null)); // tombstone
    batch.push(rec(topic, { id: 4 }, null));
    batch.push(rec(topic, { id: 4 }, row(4, 'four-again'))); // delete then insert of the same key
    await task.put(batch);
    const r = await rows(topic);
    assert.deepEqual(r.map((x) => x.id), [1, 2, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(r[1]!.name, 'two-updated');
    assert.equal(r[2]!.name, 'four-again');
    assert.equal(r[0]!.price, '1.50');
    assert.deepEqual(r[0]!.tags, ['a', 'b"1']);
    const types = await db.query(`SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [topic]);
    assert.deepEqual(types.rows.map((x) => `${x.column_name}:${x.data_type}:${x.is_nullable}`), [
      'id:integer:NO', 'name:text:YES', 'price:numeric:YES', 'at:timestamp with time zone:YES', 'tags:ARRAY:YES',
    ]);
    // replay of the same batch (at-least-once redelivery) leaves the same table
    await task.put(batch);
    assert.deepEqual(await rows(topic), r);
    await task.stop();
  });

  it('insert mode with pk.mode none takes schemaless JSON; update mode only touches existing rows', async () => {
    const topic = T('ins');
    const task = await startSink({ 'auto.create': 'true' }, sinkContext());
    await task.put([
      rec(topic, null, { id: 1, label: 'x', score: 1.5, ok: true, doc: { a: 1 } }, { valueSchema: null }),
      rec(topic, null, { id: 2, label: null, score: 2, ok: false, doc: [1, 2] }, { valueSchema: null }),
    ]);
    const r = await rows(topic);
    assert.equal(r.length, 2);
    assert.deepEqual(r[0], { id: '1', label: 'x', score: 1.5, ok: true, doc: { a: 1 } });
    await task.stop();

    const upd = await startSink({ 'insert.mode': 'update', 'pk.mode': 'record_value', 'pk.fields': 'id' }, sinkContext());
    await upd.put([rec(topic, null, { id: 1, label: 'changed' }, { valueSchema: null }), rec(topic, null, { id: 99, label: 'nope' }, { valueSchema: null })]);
    const r2 = await rows(topic);
    assert.deepEqual(r2.map((x) => [x.id, x.label]), [['1', 'changed'], ['2', null]]);
    await upd.stop();
  });

  it('schema drift: auto.evolve adds a nullable column; without it the record is reported naming field and table', async () => {
    const topic = T('evo');
    await db.query(`CREATE TABLE ${topic} (id int PRIMARY KEY, name text)`);
    const evolving = await startSink({ 'insert.mode': 'upsert', 'pk.mode': 'record_value', 'pk.fields': 'id', 'auto.evolve': 'true' }, sinkContext());
    await evolving.put([rec(topic, null, { id: 1, name: 'a' }, { valueSchema: null }), rec(topic, null, { id: 2, name: 'b', extra: 42 }, { valueSchema: null })]);
    assert.deepEqual((await rows(topic)).map((x) => [x.id, x.name, x.extra]), [[1, 'a', null], [2, 'b', '42']]);
    const col = await db.query(`SELECT is_nullable FROM information_schema.columns WHERE table_name = $1 AND column_name = 'extra'`, [topic]);
    assert.equal(col.rows[0].is_nullable, 'YES');
    await evolving.stop();

    const ctx = sinkContext({ reporter: true });
    const strict = await startSink({ 'insert.mode': 'upsert', 'pk.mode': 'record_value', 'pk.fields': 'id' }, ctx);
    const bad = rec(topic, null, { id: 3, name: 'c', surprise: true }, { valueSchema: null });
    await strict.put([rec(topic, null, { id: 4, name: 'd' }, { valueSchema: null }), bad]);
    assert.equal(ctx.reported.length, 1);
    assert.equal(ctx.reported[0]!.record, bad);
    assert.match(ctx.reported[0]!.error.message, new RegExp(`"surprise".*${topic}`));
    assert.deepEqual((await rows(topic)).map((x) => x.id), [1, 2, 4]);
    await strict.stop();

    const noReporter = await startSink({ 'insert.mode': 'upsert', 'pk.mode': 'record_value', 'pk.fields': 'id' }, sinkContext());
    await assert.rejects(noReporter.put([rec(topic, null, { id: 5, other: 1 }, { valueSchema: null })]), (e: Error) => e instanceof DataError && /"other"/.test(e.message) && e.message.includes(topic));
    assert.equal((await rows(topic)).length, 3);
    await noReporter.stop();
  });

  it('a row the database rejects is singled out; the rest of the batch is written', async () => {
    const topic = T('bad');
    await db.query(`CREATE TABLE ${topic} (id int PRIMARY KEY, code varchar(3), n int CHECK (n >= 0))`);
    const ctx = sinkContext({ reporter: true });
    const task = await startSink({ 'insert.mode': 'upsert', 'pk.mode': 'record_value', 'pk.fields': 'id' }, ctx);
    const batch = [
      rec(topic, null, { id: 1, code: 'ok', n: 1 }, { valueSchema: null }),
      rec(topic, null, { id: 2, code: 'toolong', n: 1 }, { valueSchema: null }),
      rec(topic, null, { id: 3, code: 'ok', n: -1 }, { valueSchema: null }),
      rec(topic, null, { id: 4, code: 'ok', n: 'x' }, { valueSchema: null }),
      rec(topic, null, { id: 5, code: 'ok', n: 5 }, { valueSchema: null }),
    ];
    await task.put(batch);
    assert.deepEqual((await rows(topic)).map((x) => x.id), [1, 5]);
    assert.deepEqual(ctx.reported.map((x) => x.record.kafkaOffset), [batch[1]!.kafkaOffset, batch[2]!.kafkaOffset, batch[3]!.kafkaOffset]);
    assert.ok(ctx.reported.every((x) => x.error instanceof DataError && x.error.message.includes(topic)));
    await task.stop();
  });

  it('applies change events natively: c/r/u upsert, d deletes, the tombstone after it is harmless', async () => {
    const topic = T('cdc');
    const after: Schema = { type: 'struct', optional: true, name: 'x.Value', fields: [{ field: 'id', type: 'int32', optional: false }, { field: 'v', type: 'string', optional: true }] };
    const env: Schema = {
      type: 'struct', name: 'x.Envelope',
      fields: [{ ...after, field: 'before' }, { ...after, field: 'after' }, { field: 'source', type: 'struct', fields: [{ field: 'table', type: 'string' }, { field: 'schema', type: 'string' }] }, { field: 'op', type: 'string' }, { field: 'ts_ms', type: 'int64', optional: true }],
    };
    const ev = (op: string, before: unknown, aft: unknown, key: number) =>
      rec(topic, { id: key }, { before, after: aft, source: { schema: 'public', table: 'orig' }, op, ts_ms: 1 }, { valueSchema: env });
    const task = await startSink({ 'insert.mode': 'upsert', 'pk.mode': 'record_key', 'delete.enabled': 'true', 'auto.create': 'true', 'table.name.format': `\${source.table}_${id}` }, sinkContext());
    await task.put([ev('r', null, { id: 1, v: 'a' }, 1), ev('c', null, { id: 2, v: 'b' }, 2), ev('c', null, { id: 3, v: 'c' }, 3)]);
    await task.put([ev('u', { id: 1, v: 'a' }, { id: 1, v: 'a2' }, 1), ev('d', { id: 2, v: 'b' }, null, 2), rec(topic, { id: 2 }, null), ev('u', null, { id: 3, v: 'c2' }, 3)]);
    const target = `orig_${id}`;
    assert.deepEqual((await rows(target)).map((x) => [x.id, x.v]), [[1, 'a2'], [3, 'c2']]);
    const cols = await db.query(`SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [target]);
    assert.deepEqual(cols.rows.map((x) => x.column_name), ['id', 'v']);
    await task.stop();
  });

  it('exactly.once: offsets are stored with the rows; after a crash before the consumer commit nothing is written twice', async () => {
    const topic = T('eo');
    const name = `eo-${id}`;
    // insert mode without a key: a replay would visibly duplicate rows
    const cfg = { 'exactly.once': 'true', 'auto.create': 'true' };
    const mk = (i: number) => ({ topic, kafkaPartition: 0, kafkaOffset: i, key: null, value: { n: i }, valueSchema: null } as SinkRecord);
    const ctx1 = sinkContext({ name });
    const t1 = await startSink(cfg, ctx1);
    await t1.open([{ topic, partition: 0 }]);
    assert.deepEqual(ctx1.seeks, []);
    await t1.put(Array.from({ length: 10 }, (_, i) => mk(i)));
    // crash: no preCommit, the consumer offset stays at 0
    await t1.stop();

    const ctx2 = sinkContext({ name });
    const t2 = await startSink(cfg, ctx2);
    await t2.open([{ topic, partition: 0 }]);
    assert.deepEqual(ctx2.seeks, [{ topic, partition: 0, offset: 10 }]);
    // even if the consumer redelivers from 0, records below the stored offset are skipped
    await t2.put(Array.from({ length: 15 }, (_, i) => mk(i)));
    const r = await rows(topic, 'n');
    assert.deepEqual(r.map((x) => Number(x.n)), Array.from({ length: 15 }, (_, i) => i));
    const stored = await db.query(`SELECT next_offset FROM ferry_sink_offsets WHERE connector = $1 AND topic = $2`, [name, topic]);
    assert.equal(Number(stored.rows[0].next_offset), 15);
    await t2.stop();
  });

  it('validate and config checks name the field', async () => {
    const v = PostgresSink.config.validate({ 'connection.url': PG_URL, 'pk.mode': 'record_value', 'insert.mode': 'upsert' });
    assert.match(v.errors['pk.fields']?.[0] ?? '', /Required when pk.mode is record_value/);
    const v2 = PostgresSink.config.validate({ 'connection.url': PG_URL, 'insert.mode': 'upsert' });
    assert.ok(v2.errors['pk.mode']);
    const c = await PostgresSink.create();
    const unreachable = await c.validate!({ 'connection.url': 'postgres://postgres@127.0.0.1:1/test' });
    assert.match(unreachable['connection.url']?.[0] ?? '', /Cannot connect/);
    const badDb = await c.validate!({ 'connection.url': 'postgres://postgres@127.0.0.1:5432/no_such_db_x' });
    assert.ok(badDb['connection.url']);
    const missing = await c.validate!({ 'connection.url': PG_URL, 'table.name.format': `missing_${id}` });
    assert.match(missing['table.name.format']?.[0] ?? '', /does not exist/);
  });
});
