/**
 * End to end: PostgreSQL -> PostgresCdcSource -> Kafka -> PostgresSink -> PostgreSQL
 * in a real worker process, killed with SIGKILL during the snapshot and during
 * streaming; and the exactly-once sink killed mid-stream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { produce, requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const PG_URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
let db: pg.Client;
const cleanup: string[] = [];

async function count(sql: string): Promise<number> {
  return Number((await db.query(sql)).rows[0].n);
}

/** Rows of `a` not in `b` plus rows of `b` not in `a` (0: identical, duplicates included). */
async function difference(a: string, b: string, cols: string): Promise<number> {
  return count(
    `SELECT (SELECT count(*) FROM (SELECT ${cols} FROM ${a} EXCEPT ALL SELECT ${cols} FROM ${b}) x) +
            (SELECT count(*) FROM (SELECT ${cols} FROM ${b} EXCEPT ALL SELECT ${cols} FROM ${a}) y) AS n`,
  ).catch(() => -1);
}

describe('PostgreSQL end to end', () => {
  before(async () => {
    await requireStack('kafka', 'postgres');
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
  });
  after(async () => {
    for (const sql of cleanup.reverse()) await db.query(sql).catch(() => {});
    await db.end();
  });

  it('CDC replication survives kill -9 during the snapshot and during streaming: the copy ends identical', async () => {
    const tag = uniqueName('pgcdc').replace(/-/g, '_');
    const src = `${tag}_src`;
    const dst = `${tag}_dst`;
    const slot = `${tag}_slot`;
    const pub = `${tag}_pub`;
    cleanup.push(`DROP TABLE IF EXISTS ${src}`, `DROP TABLE IF EXISTS ${dst}`, `DROP PUBLICATION IF EXISTS ${pub}`);
    cleanup.push(`SELECT pg_drop_replication_slot('${slot}') FROM pg_replication_slots WHERE slot_name = '${slot}' AND NOT active`);
    await db.query(`CREATE TABLE ${src} (id int PRIMARY KEY, v text, amount numeric(12,2), at timestamptz, doc jsonb, tags text[])`);
    await db.query(
      `INSERT INTO ${src} SELECT g, 'v' || g, g / 100.0, '2024-01-01'::timestamptz + g * interval '1 ms', jsonb_build_object('g', g), ARRAY['t' || (g % 5)]
         FROM generate_series(1, 30000) g`,
    );
    const cols = 'id, v, amount, at, doc, tags';
    const cdc = {
      name: `${tag}-cdc`,
      config: {
        'connector.class': 'PostgresCdcSource', 'connection.url': PG_URL, 'topic.prefix': tag, 'slot.name': slot, 'publication.name': pub,
        'publication.autocreate.mode': 'filtered', 'table.include.list': src, 'snapshot.fetch.size': '500', 'heartbeat.interval.ms': '1000',
      },
    };
    const sink = {
      name: `${tag}-sink`,
      config: {
        'connector.class': 'PostgresSink', 'connection.url': PG_URL, topics: `${tag}.public.${src}`, 'table.name.format': dst,
        'insert.mode': 'upsert', 'pk.mode': 'record_key', 'delete.enabled': 'true', 'auto.create': 'true',
      },
    };
    const workerConfig = { 'offset.flush.interval.ms': 500 };
    const t0 = Date.now();
    const at = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    // The source runs in the worker that gets killed; the sink in another one (a killed consumer would
    // only add its group session timeout to the test, not test the source).
    const sinkWorker = await startWorker({ workerConfig, connectors: [sink] });
    let w: WorkerHandle | undefined = await startWorker({ workerConfig, connectors: [cdc] });
    try {
      await waitFor(async () => (await count(`SELECT count(*) AS n FROM ${dst}`).catch(() => 0)) > 2000, { timeoutMs: 90000, intervalMs: 50, message: 'snapshot rows arriving' });
      await w.kill();
      const atKill = await count(`SELECT count(*) AS n FROM ${dst}`);
      console.log(`${at()}: killed during the snapshot with ${atKill} of 30000 rows copied`);
      // changes while the source is down
      await db.query(`UPDATE ${src} SET v = 'changed' WHERE id % 1000 = 0`);
      await db.query(`DELETE FROM ${src} WHERE id % 997 = 0`);
      await db.query(`INSERT INTO ${src} SELECT g, 'new', 1, date_trunc('milliseconds', now()), '{}', '{}' FROM generate_series(30001, 30500) g`);

      w = await startWorker({ dir: w.dir, workerConfig });
      await waitFor(async () => (await difference(src, dst, cols)) === 0, { timeoutMs: 120000, message: 'replica identical after the snapshot' });
      console.log(`${at()}: identical after the snapshot`);

      // streaming: a large transaction, killed while it flows
      await db.query(`UPDATE ${src} SET amount = amount + 1, doc = doc || '{"u": 1}' WHERE id <= 20000`);
      await waitFor(async () => (await count(`SELECT count(*) AS n FROM ${dst} WHERE doc ? 'u'`)) > 1000, { timeoutMs: 60000, intervalMs: 50, message: 'streamed updates arriving' });
      await w.kill();
      const streamedAtKill = await count(`SELECT count(*) AS n FROM ${dst} WHERE doc ? 'u'`);
      console.log(`${at()}: killed during streaming with ${streamedAtKill} of ~20000 updates applied`);
      await db.query(`DELETE FROM ${src} WHERE id BETWEEN 100 AND 199`);
      w = await startWorker({ dir: w.dir, workerConfig });
      await db.query(`INSERT INTO ${src} VALUES (70000, 'after restart', 7, '2024-02-02T00:00:00Z', '{"late": true}', '{x,y}')`);
      await waitFor(async () => (await difference(src, dst, cols)) === 0, { timeoutMs: 120000, message: 'replica identical after streaming' });
      assert.equal(await count(`SELECT count(*) AS n FROM ${dst}`), await count(`SELECT count(*) AS n FROM ${src}`));
      console.log(`${at()}: identical after streaming`);

      // the slot follows what was delivered: it reaches the current WAL position once idle (heartbeats)
      const walNow = (await db.query(`SELECT pg_current_wal_lsn()::text AS l`)).rows[0].l;
      await waitFor(async () => (await db.query(`SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1`, [slot, walNow])).rows[0]?.ok, {
        timeoutMs: 30000,
        message: 'slot confirmed up to the current WAL',
      });
      await w.request('DELETE', `/connectors/${tag}-cdc`);
      await sinkWorker.request('DELETE', `/connectors/${tag}-sink`);
    } finally {
      await w?.stop();
      await sinkWorker.stop();
    }
  });

  it('exactly-once sink under kill -9: every row once', async () => {
    const topic = uniqueName('pgeo');
    const table = topic.replace(/-/g, '_');
    const name = `${topic}-sink`;
    cleanup.push(`DROP TABLE IF EXISTS ${table}`, `DELETE FROM ferry_sink_offsets WHERE connector = '${name}'`);
    const total = 120000;
    await produce(topic, Array.from({ length: total }, (_, i) => ({ value: JSON.stringify({ n: i, label: `row ${i}` }) })));
    const connectors = [
      {
        name,
        config: {
          'connector.class': 'PostgresSink', 'connection.url': PG_URL, topics: topic, 'table.name.format': table, 'auto.create': 'true',
          // insert without a key: any replayed record would show up as a duplicate row
          'insert.mode': 'insert', 'exactly.once': 'true', 'value.converter': 'JsonConverter', 'value.converter.schemas.enable': 'false', 'batch.size': '500',
        },
      },
    ];
    const workerConfig = { 'offset.flush.interval.ms': 60000 };
    let w: WorkerHandle | undefined = await startWorker({ workerConfig, connectors });
    try {
      await waitFor(async () => (await count(`SELECT count(*) AS n FROM ${table}`).catch(() => 0)) > 2000, { timeoutMs: 90000, intervalMs: 25, message: 'rows arriving' });
      await w.kill();
      const atKill = await count(`SELECT count(*) AS n FROM ${table}`);
      assert.ok(atKill < total, `killed mid-stream (${atKill} of ${total})`);
      console.log(`exactly-once sink killed with ${atKill} of ${total} rows written`);
      w = await startWorker({ dir: w.dir, workerConfig });
      await waitFor(async () => (await count(`SELECT count(*) AS n FROM ${table}`)) >= total, { timeoutMs: 120000, message: `all ${total} rows` });
      // the offsets stored with the rows reached the end: no batch is still in flight
      await waitFor(async () => Number((await db.query(`SELECT next_offset FROM ferry_sink_offsets WHERE connector = $1`, [name])).rows[0]?.next_offset) === total, { timeoutMs: 60000, message: 'stored offsets at the end of the topic' });
      assert.equal(await count(`SELECT count(*) AS n FROM ${table}`), total, 'no duplicate');
      assert.equal(await count(`SELECT count(DISTINCT n) AS n FROM ${table}`), total, 'no loss');
      assert.equal(await count(`SELECT min(n) + max(n) AS n FROM ${table}`), total - 1);
      const stored = await db.query(`SELECT next_offset FROM ferry_sink_offsets WHERE connector = $1`, [name]);
      assert.equal(Number(stored.rows[0].next_offset), total);
    } finally {
      await w?.stop();
    }
  });

  it('validate over REST names the field', async () => {
    const w = await startWorker();
    try {
      const v = await w.request('PUT', '/connector-plugins/PostgresSink/config/validate', {
        name: 'pg-validate', 'connector.class': 'PostgresSink', topics: 't', 'connection.url': PG_URL, 'pk.mode': 'record_value', 'insert.mode': 'upsert',
      });
      assert.equal(v.status, 200);
      const errs = Object.fromEntries(v.body.configs.map((c: { value: { name: string; errors: string[] } }) => [c.value.name, c.value.errors]));
      assert.ok(errs['pk.fields'].length > 0, JSON.stringify(errs['pk.fields']));
      const cdc = await w.request('PUT', '/connector-plugins/PostgresCdcSource/config/validate', {
        name: 'pg-validate-cdc', 'connector.class': 'PostgresCdcSource', 'connection.url': PG_URL, 'topic.prefix': 'x', 'table.include.list': 'public.no_such_table_here',
      });
      const cerrs = Object.fromEntries(cdc.body.configs.map((c: { value: { name: string; errors: string[] } }) => [c.value.name, c.value.errors]));
      assert.match(cerrs['table.include.list'][0], /does not exist/);
      const src = await w.request('PUT', '/connector-plugins/PostgresSource/config/validate', {
        name: 'pg-validate-src', 'connector.class': 'PostgresSource', 'connection.url': 'postgres://postgres@127.0.0.1:1/test', 'table.include.list': 'x', mode: 'bulk', 'topic.prefix': 'p',
      });
      const serrs = Object.fromEntries(src.body.configs.map((c: { value: { name: string; errors: string[] } }) => [c.value.name, c.value.errors]));
      assert.match(serrs['connection.url'][0], /Cannot connect/);
    } finally {
      await w.stop();
    }
  });
});
