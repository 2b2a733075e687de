import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { LogicalNames, type SourceRecord } from '@ferry/core';
import { PostgresSource } from '../../src/postgres/index.js';
import { PostgresSourceTask } from '../../src/postgres/source-task.js';
import { admin, MemoryOffsets, PG_URL, pollUntil, sourceContext, uid } from './helpers.js';

const id = uid();
const T = (n: string) => `src_${n}_${id}`;
let db: pg.Client;

before(async () => {
  db = await admin();
});
after(async () => {
  const r = await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE $1`, [`src_%_${id}`]);
  for (const row of r.rows) await db.query(`DROP TABLE IF EXISTS "${row.tablename}"`);
  await db.end();
});

async function startTask(config: Record<string, string>, offsets: MemoryOffsets): Promise<PostgresSourceTask> {
  const conn = await PostgresSource.create();
  await conn.start(config, undefined as never);
  const [taskConfig] = await conn.taskConfigs(1);
  const task = conn.createTask() as PostgresSourceTask;
  await task.start(taskConfig!, sourceContext(offsets));
  return task;
}

const ids = (rs: SourceRecord[]) => rs.map((r) => (r.value as { id: number }).id);

describe('PostgresSource', () => {
  it('incrementing: reads every type, picks up inserts and resumes after a restart without loss', async () => {
    const t = T('inc');
    await db.query(`CREATE TABLE ${t} (
      id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2), big bigint, flag boolean, at timestamp, atz timestamptz,
      day date, doc jsonb, u uuid, tags text[], nums int4[], raw bytea, f8 float8)`);
    await db.query(`INSERT INTO ${t} (name, price, big, flag, at, atz, day, doc, u, tags, nums, raw, f8)
      SELECT 'n' || g, g * 1.5, 9007199254740993, g % 2 = 0, '2024-01-02 03:04:05.678', '2024-01-02 03:04:05.678+02', '2024-02-29',
             '{"a": [1, 2]}', '6f9619ff-8b86-d011-b42d-00cf4fc964ff', ARRAY['x', 'y z', NULL], ARRAY[1, 2], '\\xdeadbeef', 0.1
        FROM generate_series(1, 25) g`);
    const offsets = new MemoryOffsets();
    const cfg = {
      'connection.url': PG_URL,
      'table.include.list': t,
      mode: 'incrementing',
      'incrementing.column.name': 'id',
      'topic.prefix': 'pg-',
      'batch.max.rows': '10',
      'poll.interval.ms': '50',
    };
    let task = await startTask(cfg, offsets);
    const first = await pollUntil(task, (a) => a.length >= 25, { offsets });
    assert.deepEqual(ids(first), Array.from({ length: 25 }, (_, i) => i + 1));
    const r0 = first[0]!;
    assert.equal(r0.topic, `pg-${t}`);
    assert.deepEqual(r0.key, { id: 1 });
    const v = r0.value as Record<string, unknown>;
    assert.equal(v.name, 'n1');
    assert.equal(v.price, '1.50');
    assert.equal(v.big, 9007199254740993n);
    assert.equal(v.flag, false);
    assert.equal((v.at as Date).toISOString(), '2024-01-02T03:04:05.678Z');
    assert.equal((v.atz as Date).toISOString(), '2024-01-02T01:04:05.678Z');
    assert.equal((v.day as Date).toISOString(), '2024-02-29T00:00:00.000Z');
    assert.deepEqual(JSON.parse(v.doc as string), { a: [1, 2] });
    assert.equal(v.u, '6f9619ff-8b86-d011-b42d-00cf4fc964ff');
    assert.deepEqual(v.tags, ['x', 'y z', null]);
    assert.deepEqual(v.nums, [1, 2]);
    assert.deepEqual(v.raw, Buffer.from('deadbeef', 'hex'));
    assert.equal(v.f8, 0.1);
    const fields = Object.fromEntries(r0.valueSchema!.fields!.map((f) => [f.field, f]));
    assert.equal(fields.id!.type, 'int32');
    assert.equal(fields.id!.optional, false);
    assert.equal(fields.name!.optional, false);
    assert.equal(fields.price!.name, LogicalNames.Decimal);
    assert.equal(fields.price!.parameters?.scale, '2');
    assert.equal(fields.big!.type, 'int64');
    assert.equal(fields.at!.name, LogicalNames.Timestamp);
    assert.equal(fields.day!.name, LogicalNames.Date);
    assert.equal(fields.doc!.name, 'io.debezium.data.Json');
    assert.equal(fields.tags!.type, 'array');
    assert.equal(fields.tags!.items?.type, 'string');
    assert.equal(fields.raw!.type, 'bytes');
    assert.equal(r0.keySchema?.fields?.[0]?.field, 'id');

    await db.query(`INSERT INTO ${t} (name) SELECT 'm' || g FROM generate_series(1, 5) g`);
    const more = await pollUntil(task, (a) => a.length >= 5, { offsets });
    assert.deepEqual(ids(more), [26, 27, 28, 29, 30]);
    await task.stop();

    // Restart: only rows inserted since are delivered.
    await db.query(`INSERT INTO ${t} (name) SELECT 'k' || g FROM generate_series(1, 3) g`);
    task = await startTask(cfg, offsets);
    const resumed = await pollUntil(task, (a) => a.length >= 3, { offsets });
    assert.deepEqual(ids(resumed), [31, 32, 33]);
    const extra = await task.poll();
    assert.equal(extra?.length ?? 0, 0);
    await task.stop();
  });

  it('incrementing: a crash before offsets are stored replays, never skips', async () => {
    const t = T('crash');
    await db.query(`CREATE TABLE ${t} (id bigserial PRIMARY KEY, v int)`);
    await db.query(`INSERT INTO ${t} (v) SELECT g FROM generate_series(1, 30) g`);
    const offsets = new MemoryOffsets();
    const cfg = { 'connection.url': PG_URL, 'table.include.list': `public.${t}`, mode: 'incrementing', 'incrementing.column.name': 'id', 'topic.prefix': 'x.', 'batch.max.rows': '10' };
    const task = await startTask(cfg, offsets);
    const b1 = (await task.poll()) ?? [];
    offsets.store(b1); // first batch delivered
    await task.poll(); // second batch polled but never delivered: the task dies here
    await task.stop();
    const task2 = await startTask(cfg, offsets);
    const rest = await pollUntil(task2, (a) => a.length >= 20, { offsets });
    assert.deepEqual(ids([...b1, ...rest]), Array.from({ length: 30 }, (_, i) => i + 1));
    await task2.stop();
  });

  it('timestamp: sees inserts and updates, and a restart inside a group of equal timestamps loses nothing', async () => {
    const t = T('ts');
    await db.query(`CREATE TABLE ${t} (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL)`);
    // 15 rows share one timestamp: a batch boundary (10) falls inside the group
    await db.query(`INSERT INTO ${t} SELECT g, 'a', '2024-01-01 00:00:00+00' FROM generate_series(1, 15) g`);
    await db.query(`INSERT INTO ${t} SELECT g, 'a', '2024-01-01 00:00:01+00' FROM generate_series(16, 20) g`);
    const offsets = new MemoryOffsets();
    const cfg = { 'connection.url': PG_URL, 'table.include.list': t, mode: 'timestamp', 'timestamp.column.name': 'updated_at', 'topic.prefix': '', 'batch.max.rows': '10', 'poll.interval.ms': '50' };
    const task = await startTask(cfg, offsets);
    const b1 = (await task.poll()) ?? [];
    assert.equal(b1.length, 10);
    offsets.store(b1);
    await task.stop(); // crash after 10 of the 15 rows sharing a timestamp
    const task2 = await startTask(cfg, offsets);
    const rest = await pollUntil(task2, (a) => new Set(ids([...b1, ...a])).size >= 20, { offsets });
    assert.deepEqual([...new Set(ids([...b1, ...rest]))].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
    // an update moves the timestamp forward: the row is read again
    await db.query(`UPDATE ${t} SET v = 'b', updated_at = '2024-01-01 00:00:05+00' WHERE id = 3`);
    const upd = await pollUntil(task2, (a) => a.length >= 1, { offsets });
    assert.deepEqual(upd.map((r) => r.value), [{ id: 3, v: 'b', updated_at: new Date('2024-01-01T00:00:05Z') }]);
    assert.equal(upd[0]!.topic, t);
    await task2.stop();
  });

  it('timestamp+incrementing: exact resume, updates picked up, delay interval respected', async () => {
    const t = T('tsinc');
    await db.query(`CREATE TABLE ${t} (id serial PRIMARY KEY, v text, modified timestamp NOT NULL DEFAULT now() - interval '1 hour')`);
    await db.query(`INSERT INTO ${t} (v, modified) SELECT 'a', '2024-01-01' FROM generate_series(1, 12)`);
    const offsets = new MemoryOffsets();
    const cfg = {
      'connection.url': PG_URL, 'table.include.list': t, mode: 'timestamp+incrementing', 'incrementing.column.name': 'id',
      'timestamp.column.name': 'modified', 'topic.prefix': 'p.', 'batch.max.rows': '5', 'poll.interval.ms': '50', 'timestamp.delay.interval.ms': '60000',
    };
    const task = await startTask(cfg, offsets);
    const b1 = (await task.poll()) ?? [];
    offsets.store(b1);
    await task.stop();
    const task2 = await startTask(cfg, offsets);
    const rest = await pollUntil(task2, (a) => a.length >= 7, { offsets });
    assert.deepEqual(ids([...b1, ...rest]), Array.from({ length: 12 }, (_, i) => i + 1));
    // a fresh row (timestamp now) is held back by the delay; an older one is read
    await db.query(`INSERT INTO ${t} (v, modified) VALUES ('fresh', now())`);
    await db.query(`UPDATE ${t} SET v = 'changed', modified = now() - interval '2 minutes' WHERE id = 4`);
    const upd = await pollUntil(task2, (a) => a.length >= 1, { offsets });
    assert.deepEqual(upd.map((r) => (r.value as { v: string }).v), ['changed']);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(((await task2.poll()) ?? []).length, 0);
    await task2.stop();
  });

  it('bulk: republishes the whole table every poll interval', async () => {
    const t = T('bulk');
    await db.query(`CREATE TABLE ${t} (id int PRIMARY KEY)`);
    await db.query(`INSERT INTO ${t} SELECT generate_series(1, 7)`);
    const task = await startTask({ 'connection.url': PG_URL, 'table.include.list': t, mode: 'bulk', 'topic.prefix': 'b.', 'batch.max.rows': '3', 'poll.interval.ms': '50' }, new MemoryOffsets());
    const rs = await pollUntil(task, (a) => a.length >= 14);
    assert.deepEqual(ids(rs.slice(0, 14)).sort((a, b) => a - b), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7]);
    await task.stop();
  });

  it('query mode: the mode is applied around the query and records go to topic.prefix', async () => {
    const t = T('q');
    await db.query(`CREATE TABLE ${t} (id int PRIMARY KEY, kind text)`);
    await db.query(`INSERT INTO ${t} SELECT g, CASE WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END FROM generate_series(1, 10) g`);
    const offsets = new MemoryOffsets();
    const cfg = { 'connection.url': PG_URL, query: `SELECT id, kind FROM ${t} WHERE kind = 'even'`, mode: 'incrementing', 'incrementing.column.name': 'id', 'topic.prefix': 'evens', 'poll.interval.ms': '50' };
    const task = await startTask(cfg, offsets);
    const rs = await pollUntil(task, (a) => a.length >= 5, { offsets });
    assert.deepEqual(ids(rs), [2, 4, 6, 8, 10]);
    assert.ok(rs.every((r) => r.topic === 'evens' && r.key === null));
    await db.query(`INSERT INTO ${t} VALUES (11, 'odd'), (12, 'even')`);
    const more = await pollUntil(task, (a) => a.length >= 1, { offsets });
    assert.deepEqual(ids(more), [12]);
    await task.stop();
  });

  it('splits tables across tasks', async () => {
    const c = await PostgresSource.create();
    await c.start({ 'connection.url': PG_URL, 'table.include.list': 'a,b,c', mode: 'bulk', 'topic.prefix': 'x' }, undefined as never);
    const tcs = await c.taskConfigs(2);
    assert.equal(tcs.length, 2);
    const tables = tcs.map((tc) => JSON.parse(tc['ferry.task.tables']!).map((x: { table: string }) => x.table));
    assert.deepEqual(tables, [['a', 'c'], ['b']]);
  });

  it('validate names the offending field', async () => {
    const c = await PostgresSource.create();
    const base = { mode: 'incrementing', 'incrementing.column.name': 'id', 'topic.prefix': 'x' };
    const missing = await c.validate!({ ...base, 'connection.url': PG_URL, 'table.include.list': `no_such_table_${id}` });
    assert.match(missing['table.include.list']?.[0] ?? '', /does not exist/);
    const unreachable = await c.validate!({ ...base, 'connection.url': 'postgres://postgres@127.0.0.1:1/test', 'table.include.list': 'x' });
    assert.match(unreachable['connection.url']?.[0] ?? '', /Cannot connect/);
    const t = T('val');
    await db.query(`CREATE TABLE ${t} (pk int)`);
    const badCol = await c.validate!({ ...base, 'connection.url': PG_URL, 'table.include.list': t });
    assert.match(badCol['incrementing.column.name']?.[0] ?? '', /does not exist/);
    const r = PostgresSource.config.validate({ 'connection.url': 'http://x', mode: 'timestamp', 'topic.prefix': 'x' });
    assert.ok(r.errors['connection.url']);
    assert.ok(r.errors['table.include.list']);
  });
});

describe('PostgresSource when the session dies at COMMIT', () => {
  it('delivers the rows already read, reports the failure on the next poll (retriable), then resumes on a new session', async () => {
    const t = T('commit');
    await db.query(`CREATE TABLE ${t} (id serial PRIMARY KEY, v text)`);
    await db.query(`INSERT INTO ${t} (v) SELECT 'v' || g FROM generate_series(1, 5) g`);
    const offsets = new MemoryOffsets();
    const cfg = { 'connection.url': PG_URL, 'table.include.list': t, mode: 'incrementing', 'incrementing.column.name': 'id', 'topic.prefix': 'c-', 'poll.interval.ms': '50' };
    const task = await startTask(cfg, offsets);
    try {
      // the server ends the session right before the read-only transaction's COMMIT
      const client = (task as unknown as { client: pg.Client & { processID?: number } }).client;
      const real = client.query.bind(client) as (...a: unknown[]) => Promise<unknown>;
      let killed = false;
      (client as unknown as { query: (...a: unknown[]) => Promise<unknown> }).query = async (...a: unknown[]) => {
        if (a[0] === 'COMMIT' && !killed) {
          killed = true;
          await db.query('SELECT pg_terminate_backend($1)', [client.processID]);
        }
        return real(...a);
      };
      const first = (await task.poll()) ?? [];
      assert.deepEqual(ids(first), [1, 2, 3, 4, 5], 'the rows read before the failure are delivered');
      assert.ok(killed);
      offsets.store(first);
      await assert.rejects(() => task.poll(), (err: Error & { code?: string }) => {
        assert.match(err.message, /COMMIT/);
        assert.equal(err.code, 'NOT_CONNECTED');
        return true;
      });
      await db.query(`INSERT INTO ${t} (v) VALUES ('after')`);
      const next = await pollUntil(task, (a) => a.length >= 1, { offsets });
      assert.deepEqual(ids(next), [6], 'a new session continues after the delivered rows');
    } finally {
      await task.stop();
    }
  });
});

describe('PostgreSQL connect timeout', () => {
  it('a server that accepts and never answers: validate() reports it in bounded time, naming connection.url', async () => {
    const { createServer } = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const hole = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
    const port = (hole.address() as { port: number }).port;
    try {
      const started = Date.now();
      const errs = await (await PostgresSource.create()).validate!({ 'connection.url': `postgres://postgres@127.0.0.1:${port}/test`, 'table.include.list': 'x', mode: 'bulk', 'topic.prefix': 'p-' });
      const took = Date.now() - started;
      assert.match(errs['connection.url']?.[0] ?? '', /Cannot connect.*timeout/i);
      assert.ok(took < 15000, `answered after ${took} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => hole.close(() => r()));
    }
  });
});
