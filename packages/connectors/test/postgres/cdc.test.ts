import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import type { SinkRecord, SourceRecord } from '@ferry/core';
import { PostgresCdcSource, PostgresSink } from '../../src/postgres/index.js';
import type { PostgresCdcTask } from '../../src/postgres/cdc-task.js';
import type { PostgresSinkTask } from '../../src/postgres/sink-task.js';
import { admin, MemoryOffsets, PG_URL, pollUntil, sinkContext, sourceContext, uid, waitFor } from './helpers.js';

const id = uid();
let db: pg.Client;
const slots: string[] = [];
const pubs: string[] = [];
const tables: string[] = [];

before(async () => {
  db = await admin();
  const wal = (await db.query('SHOW wal_level')).rows[0].wal_level;
  assert.equal(wal, 'logical', 'CDC tests need wal_level=logical: node scripts/stack.mjs up postgres');
});
after(async () => {
  for (const s of slots) {
    await db.query(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active`, [s]).catch(() => {});
    for (let i = 0; i < 20; i++) {
      const r = await db.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [s]).catch(() => ({ rowCount: 0 }));
      const left = await db.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = $1`, [s]);
      if (left.rowCount === 0 || r.rowCount) break;
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  for (const p of pubs) await db.query(`DROP PUBLICATION IF EXISTS ${p}`);
  for (const t of tables) await db.query(`DROP TABLE IF EXISTS ${t}`);
  await db.end();
});

function names(tag: string) {
  const slot = `ferry_${tag}_${id}`;
  const pub = `ferry_pub_${tag}_${id}`;
  slots.push(slot);
  pubs.push(pub);
  return { slot, pub };
}
function table(name: string): string {
  const t = `cdc_${name}_${id}`;
  tables.push(t);
  return t;
}

async function startCdc(cfg: Record<string, string>, offsets: MemoryOffsets): Promise<PostgresCdcTask> {
  const c = await PostgresCdcSource.create();
  await c.start(cfg, undefined as never);
  const [tc] = await c.taskConfigs(1);
  const task = c.createTask() as PostgresCdcTask;
  await task.start(tc!, sourceContext(offsets));
  return task;
}

async function confirmedFlush(slot: string): Promise<bigint> {
  const r = await db.query(`SELECT confirmed_flush_lsn - '0/0'::pg_lsn AS n FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
  return BigInt(r.rows[0].n);
}

type Env = { op: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null; source: Record<string, unknown> };
const changes = (rs: SourceRecord[]) => rs.filter((r) => !r.topic.startsWith('__debezium-heartbeat'));
const env = (r: SourceRecord) => r.value as Env;

/** Applies source records to a target table through the sink, as a replication pipeline would. */
class Replica {
  offset = 0;
  constructor(readonly task: PostgresSinkTask) {}
  static async create(target: string): Promise<Replica> {
    const task = (await PostgresSink.create()).createTask() as PostgresSinkTask;
    await task.start(
      { 'connection.url': PG_URL, 'insert.mode': 'upsert', 'pk.mode': 'record_key', 'delete.enabled': 'true', 'auto.create': 'true', 'table.name.format': target },
      sinkContext(),
    );
    return new Replica(task);
  }
  async apply(rs: SourceRecord[]) {
    const sr: SinkRecord[] = changes(rs).map((r) => ({ ...r, kafkaPartition: 0, kafkaOffset: this.offset++ }));
    for (let i = 0; i < sr.length; i += 5000) await this.task.put(sr.slice(i, i + 5000));
  }
}

async function sameRows(a: string, b: string, cols: string): Promise<void> {
  const q = (x: string, y: string) => db.query(`SELECT count(*)::int AS n FROM (SELECT ${cols} FROM ${x} EXCEPT ALL SELECT ${cols} FROM ${y}) d`);
  const [ab, ba] = await Promise.all([q(a, b), q(b, a)]);
  assert.equal(ab.rows[0].n, 0, `${ab.rows[0].n} rows of ${a} are missing from ${b}`);
  assert.equal(ba.rows[0].n, 0, `${ba.rows[0].n} rows of ${b} are not in ${a}`);
}

describe('PostgresCdcSource', () => {
  it('snapshot then insert/update/delete and a transaction spanning tables; the slot moves only on commit()', async () => {
    const { slot, pub } = names('basic');
    const a = table('a');
    const b = table('b');
    await db.query(`CREATE TABLE ${a} (id int PRIMARY KEY, v text, n numeric(8,2), doc jsonb)`);
    await db.query(`CREATE TABLE ${b} (k text PRIMARY KEY, qty int NOT NULL)`);
    await db.query(`ALTER TABLE ${a} REPLICA IDENTITY FULL`);
    await db.query(`INSERT INTO ${a} VALUES (1, 'one', 1.50, '{"x":1}'), (2, 'two', 2.00, null)`);
    const offsets = new MemoryOffsets();
    const cfg = {
      'connection.url': PG_URL, 'topic.prefix': 'srv', 'slot.name': slot, 'publication.name': pub,
      'publication.autocreate.mode': 'filtered', 'table.include.list': `public.${a},${b}`, 'heartbeat.interval.ms': '0', 'poll.interval.ms': '100',
    };
    const task = await startCdc(cfg, offsets);
    const snap = await pollUntil(task, (all) => all.length >= 2, { offsets });
    assert.deepEqual(snap.map((r) => [env(r).op, env(r).source.snapshot]), [['r', 'true'], ['r', 'last']]);
    assert.equal(snap[0]!.topic, `srv.public.${a}`);
    assert.deepEqual(snap[0]!.key, { id: 1 });
    assert.deepEqual(env(snap[0]!).after, { id: 1, v: 'one', n: '1.50', doc: '{"x": 1}' });
    assert.equal(snap[0]!.valueSchema?.name, `srv.public.${a}.Envelope`);
    assert.equal(snap[0]!.keySchema?.name, `srv.public.${a}.Key`);
    const before = await confirmedFlush(slot);

    await db.query('BEGIN');
    await db.query(`INSERT INTO ${a} VALUES (3, 'three', 3.25, '[1]')`);
    await db.query(`UPDATE ${a} SET v = 'ONE' WHERE id = 1`);
    await db.query(`DELETE FROM ${a} WHERE id = 2`);
    await db.query(`INSERT INTO ${b} VALUES ('x', 5), ('y', 6)`);
    await db.query('COMMIT');
    const stream = await pollUntil(task, (all) => changes(all).length >= 6, { offsets, commit: false });
    const ops = changes(stream).map((r) => [r.topic.split('.').pop(), env(r)?.op ?? 'tombstone']);
    assert.deepEqual(ops, [[a, 'c'], [a, 'u'], [a, 'd'], [a, 'tombstone'], [b, 'c'], [b, 'c']]);
    const [c, u, d, tomb] = stream;
    assert.deepEqual(env(u!).before, { id: 1, v: 'one', n: '1.50', doc: '{"x": 1}' });
    assert.deepEqual(env(u!).after, { id: 1, v: 'ONE', n: '1.50', doc: '{"x": 1}' });
    assert.deepEqual(env(d!).before, { id: 2, v: 'two', n: '2.00', doc: null });
    assert.equal(env(d!).after, null);
    assert.deepEqual(tomb!.key, { id: 2 });
    assert.equal(tomb!.value, null);
    const src = env(c!).source;
    assert.equal(src.connector, 'postgresql');
    assert.equal(src.name, 'srv');
    assert.equal(src.db, 'test');
    assert.equal(src.schema, 'public');
    assert.equal(src.table, a);
    assert.equal(src.snapshot, 'false');
    assert.equal(typeof src.lsn, 'number');
    // one transaction: same txId and commit LSN on every event, across both tables
    assert.equal(new Set(stream.map((r) => r.sourceOffset.lsn)).size, 1);
    assert.equal(new Set(changes(stream).filter((r) => r.value).map((r) => env(r).source.txId)).size, 1);
    assert.deepEqual(stream.map((r) => r.sourceOffset.event), [0, 1, 2, 3, 4, 5]);

    // nothing committed yet: the slot has not moved
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await confirmedFlush(slot), before);
    await task.commit(offsets.store(stream));
    const lsn = BigInt(stream[5]!.sourceOffset.lsn as number);
    await waitFor(async () => (await confirmedFlush(slot)) >= lsn, 'the slot to reach the committed LSN');
    assert.equal(await confirmedFlush(slot), lsn);
    await task.stop();

    // a restart resumes after the stored offset: the next change only
    await db.query(`UPDATE ${b} SET qty = 7 WHERE k = 'x'`);
    const task2 = await startCdc(cfg, offsets);
    const next = await pollUntil(task2, (all) => changes(all).length >= 1, { offsets });
    assert.deepEqual(changes(next).map((r) => [env(r).op, env(r).after]), [['u', { k: 'x', qty: 7 }]]);
    assert.equal(env(next[0]!).before, null); // REPLICA IDENTITY DEFAULT: no old row
    await task2.stop();
  });

  it('snapshot of 100k rows killed midway, then streaming killed mid-transaction: the replica ends identical', async () => {
    const { slot, pub } = names('crash');
    const src = table('src');
    const dst = table('dst');
    await db.query(`CREATE TABLE ${src} (id int PRIMARY KEY, v text, amount numeric(12,2), at timestamptz, tags text[])`);
    await db.query(`INSERT INTO ${src} SELECT g, 'v' || g, g / 100.0, '2024-01-01'::timestamptz + g * interval '1 second', ARRAY['t' || (g % 7)] FROM generate_series(1, 100000) g`);
    const cfg = {
      'connection.url': PG_URL, 'topic.prefix': 'crash', 'slot.name': slot, 'publication.name': pub, 'publication.autocreate.mode': 'filtered',
      'table.include.list': src, 'snapshot.fetch.size': '7000', 'heartbeat.interval.ms': '0', 'poll.interval.ms': '100', 'max.batch.size': '500',
    };
    const replica = await Replica.create(dst);
    const offsets = new MemoryOffsets();
    const running: PostgresCdcTask[] = [];
    const startTracked = async () => {
      const t = await startCdc(cfg, offsets);
      running.push(t);
      return t;
    };
    try {
    // 1. snapshot: deliver three batches, poll a fourth that is never delivered, then the task dies
    let task = await startTracked();
    for (let i = 0; i < 3; i++) {
      const b = (await task.poll()) ?? [];
      await replica.apply(b);
      offsets.store(b);
    }
    await task.poll();
    await task.stop();
    // changes while no task runs: after the slot's start, partly in the rows already snapshotted
    await db.query(`UPDATE ${src} SET v = 'changed' WHERE id % 1000 = 0`);
    await db.query(`DELETE FROM ${src} WHERE id % 997 = 0`);
    await db.query(`INSERT INTO ${src} SELECT g, 'new', 1, date_trunc('milliseconds', now()), '{}' FROM generate_series(100001, 100500) g`);

    // 2. resumed snapshot, then streaming
    task = await startTracked();
    const phase2 = Date.now() + 180_000;
    let sawLast = false;
    while (!sawLast) {
      assert.ok(Date.now() < phase2, 'the resumed snapshot did not finish');
      const b = (await task.poll()) ?? [];
      await replica.apply(b);
      await task.commit?.(offsets.store(b));
      sawLast = b.some((r) => env(r).source.snapshot === 'last');
    }
    // streaming replays the changes made since the slot was created: 100 updates, 100 deletes (+ tombstones), 500 inserts
    let streamed = 0;
    while (streamed < 800) {
      assert.ok(Date.now() < phase2, `streaming replayed ${streamed} of 800 changes`);
      const b = changes((await task.poll()) ?? []);
      streamed += b.length;
      await replica.apply(b);
      await task.commit?.(offsets.store(b));
    }
    assert.equal(streamed, 800);
    await sameRows(src, dst, 'id, v, amount, at, tags');

    // 3. a multi-row transaction: the task dies after delivering part of it
    const updated = (await db.query(`UPDATE ${src} SET amount = amount + 1 WHERE id <= 3000`)).rowCount!;
    assert.ok(updated > 2000);
    const part: SourceRecord[] = [];
    const partDeadline = Date.now() + 60_000;
    while (part.length < 1200) {
      assert.ok(Date.now() < partDeadline, `only ${part.length} of 1200 events of the transaction arrived`);
      part.push(...((await task.poll()) ?? []));
    }
    const delivered = part.slice(0, 1100);
    await replica.apply(delivered);
    await task.commit?.(offsets.store(delivered));
    await task.stop();
    task = await startTracked();
    const rest: SourceRecord[] = [];
    // Poll until the rest of the transaction has arrived, then until a later marker transaction
    // arrives: whatever came in between would be a duplicate. No count of idle polls.
    const expected = updated - 1100;
    const restDeadline = Date.now() + 120_000;
    while (rest.length < expected) {
      assert.ok(Date.now() < restDeadline, `the rest of the transaction did not arrive: ${rest.length} of ${expected}`);
      const b = (await task.poll()) ?? [];
      rest.push(...changes(b));
      await task.commit?.(offsets.store(b));
    }
    await db.query(`UPDATE ${src} SET v = 'marker' WHERE id = 100500`);
    const tail: SourceRecord[] = [];
    while (!tail.some((r) => env(r)?.after?.v === 'marker')) {
      assert.ok(Date.now() < restDeadline, 'the marker transaction did not arrive');
      const b = (await task.poll()) ?? [];
      tail.push(...changes(b));
      await task.commit?.(offsets.store(b));
    }
    // exactly the rest of the transaction: nothing repeated, nothing skipped
    assert.equal(rest.length, expected);
    assert.deepEqual(rest.map((r) => r.sourceOffset.event), Array.from({ length: expected }, (_, i) => 1100 + i));
    assert.equal(tail.length, 1, 'only the marker follows the transaction');
    await replica.apply(rest);
    await replica.apply(tail);
    await sameRows(src, dst, 'id, v, amount, at, tags');
    } finally {
      for (const t of running) await t.stop();
      await replica.task.stop();
    }
  });

  it('an idle slot advances through heartbeats', async () => {
    const { slot, pub } = names('hb');
    const t = table('hb');
    const other = table('other');
    await db.query(`CREATE TABLE ${t} (id int PRIMARY KEY)`);
    await db.query(`CREATE TABLE ${other} (id int)`);
    const offsets = new MemoryOffsets();
    const cfg = {
      'connection.url': PG_URL, 'topic.prefix': 'hb', 'slot.name': slot, 'publication.name': pub, 'publication.autocreate.mode': 'filtered',
      'table.include.list': t, 'heartbeat.interval.ms': '100', 'poll.interval.ms': '50', 'snapshot.mode': 'never',
    };
    const task = await startCdc(cfg, offsets);
    await task.poll();
    const start = await confirmedFlush(slot);
    // WAL from a table outside the publication: no change event, but the slot must not stay behind
    await db.query(`INSERT INTO ${other} SELECT generate_series(1, 1000)`);
    const walNow = BigInt((await db.query(`SELECT pg_current_wal_lsn() - '0/0'::pg_lsn AS n`)).rows[0].n);
    const hb = await pollUntil(task, (all) => all.some((r) => BigInt(r.sourceOffset.lsn as number) >= walNow), { offsets, timeoutMs: 15000 });
    const beat = hb.find((r) => BigInt(r.sourceOffset.lsn as number) >= walNow)!;
    assert.equal(beat.topic, '__debezium-heartbeat.hb');
    assert.deepEqual(beat.key, { serverName: 'hb' });
    await waitFor(async () => (await confirmedFlush(slot)) >= walNow, 'the slot to pass the idle WAL');
    assert.ok((await confirmedFlush(slot)) >= walNow, 'confirmed_flush_lsn advanced past the idle WAL');
    assert.ok((await confirmedFlush(slot)) > start);
    await task.stop();
  });

  it('validate names the field', async () => {
    const c = await PostgresCdcSource.create();
    const bad = await c.validate!({ 'connection.url': PG_URL, 'topic.prefix': 'x', 'table.include.list': `nope_${id}` });
    assert.match(bad['table.include.list']?.[0] ?? '', /does not exist/);
    const down = await c.validate!({ 'connection.url': 'postgres://postgres@127.0.0.1:1/test', 'topic.prefix': 'x' });
    assert.match(down['connection.url']?.[0] ?? '', /Cannot connect/);
    const r = PostgresCdcSource.config.validate({ 'connection.url': PG_URL, 'topic.prefix': 'x', 'publication.autocreate.mode': 'filtered', 'slot.name': 'Bad-Name' });
    assert.ok(r.errors['slot.name']);
  });
});

describe('PostgresCdcSource with unchanged TOAST values', () => {
  it('an update that does not touch a large value leaves it intact in the replica', async () => {
    const { slot, pub } = names('toast');
    const src = table('tsrc');
    const dst = table('tdst');
    await db.query(`CREATE TABLE ${src} (id int PRIMARY KEY, big text, n int)`);
    // ~40 kB of hex digits: stored out of line (TOAST)
    await db.query(`INSERT INTO ${src} SELECT 1, string_agg(md5(random()::text), ''), 0 FROM generate_series(1, 1200)`);
    const offsets = new MemoryOffsets();
    const cfg = {
      'connection.url': PG_URL, 'topic.prefix': 'toast', 'slot.name': slot, 'publication.name': pub, 'publication.autocreate.mode': 'filtered',
      'table.include.list': src, 'heartbeat.interval.ms': '0', 'poll.interval.ms': '100',
    };
    const task = await startCdc(cfg, offsets);
    const replica = await Replica.create(dst);
    try {
      await replica.apply(await pollUntil(task, (all) => all.length >= 1, { offsets }));
      await db.query(`UPDATE ${src} SET n = 1 WHERE id = 1`);
      const upd = await pollUntil(task, (all) => changes(all).length >= 1, { offsets });
      assert.equal(env(upd[0]!).after!.big, '__debezium_unavailable_value');
      await replica.apply(upd);
      await sameRows(src, dst, 'id, big, n');
    } finally {
      await task.stop();
      await replica.task.stop();
    }
  });
});
