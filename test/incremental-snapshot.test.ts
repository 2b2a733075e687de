/**
 * Incremental (ad hoc) snapshot end to end: a table that was never
 * snapshotted is read in watermark windows while it receives updates,
 * inserts and deletes; the CDC worker is killed with SIGKILL mid-snapshot and
 * restarted. The replica built by PostgresSink must end identical.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const PG_URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
let db: pg.Client;
const cleanup: Array<() => Promise<unknown>> = [];

async function count(sql: string): Promise<number> {
  return Number((await db.query(sql)).rows[0].n);
}

async function difference(a: string, b: string, cols: string): Promise<number> {
  return count(
    `SELECT (SELECT count(*) FROM (SELECT ${cols} FROM ${a} EXCEPT ALL SELECT ${cols} FROM ${b}) x) +
            (SELECT count(*) FROM (SELECT ${cols} FROM ${b} EXCEPT ALL SELECT ${cols} FROM ${a}) y) AS n`,
  ).catch(() => -1);
}

describe('incremental snapshot', () => {
  before(async () => {
    await requireStack('kafka', 'postgres');
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
  });

  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    await db.end();
  });

  it('copies a table while it changes, survives kill -9, and the replica ends identical', { timeout: 300000 }, async () => {
    const tag = uniqueName('inc');
    const base = tag.replace(/-/g, '_');
    const src = `${base}_src`;
    const dst = `${base}_dst`;
    const signal = `${base}_signal`;
    const ROWS = 30000;
    await db.query(`CREATE TABLE ${src} (id int PRIMARY KEY, v text, n int)`);
    await db.query(`INSERT INTO ${src} SELECT g, 'v' || g, 0 FROM generate_series(1, ${ROWS}) g`);
    await db.query(`CREATE TABLE ${signal} (id text PRIMARY KEY, type text NOT NULL, data text)`);
    cleanup.push(async () => {
      await db.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [base]).catch(() => undefined);
      await db.query(`DROP PUBLICATION IF EXISTS ${base}_pub`);
      for (const t of [src, dst, signal]) await db.query(`DROP TABLE IF EXISTS ${t}`);
    });
    const cdc = {
      name: `${tag}-cdc`,
      config: {
        'connector.class': 'PostgresCdcSource', 'connection.url': PG_URL, 'topic.prefix': tag, 'slot.name': base, 'publication.name': `${base}_pub`,
        'publication.autocreate.mode': 'filtered', 'table.include.list': src, 'snapshot.mode': 'never', 'heartbeat.interval.ms': '1000',
        'signal.data.collection': `public.${signal}`, 'incremental.snapshot.chunk.size': '500',
      },
    };
    const sink = {
      name: `${tag}-sink`,
      config: {
        'connector.class': 'PostgresSink', 'connection.url': PG_URL, topics: `${tag}.public.${src}`, 'table.name.format': dst,
        'insert.mode': 'upsert', 'pk.mode': 'record_key', 'delete.enabled': 'true', 'auto.create': 'true',
      },
    };
    const workerConfig = { 'offset.flush.interval.ms': 300 };
    const sinkWorker = await startWorker({ workerConfig, connectors: [sink] });
    let w: WorkerHandle | undefined = await startWorker({ workerConfig, connectors: [cdc] });
    let writing = true;
    let next = ROWS + 1;
    let changes = 0;
    const writer = (async () => {
      // Updates, inserts and deletes all over the key range while the snapshot runs.
      while (writing) {
        const a = 1 + Math.floor(Math.random() * next);
        await db.query(`UPDATE ${src} SET n = n + 1, v = md5(random()::text) WHERE id BETWEEN $1 AND $1 + 20`, [a]);
        await db.query(`INSERT INTO ${src} VALUES ($1, 'new', 0)`, [next++]);
        await db.query(`DELETE FROM ${src} WHERE id = $1`, [1 + Math.floor(Math.random() * next)]);
        changes += 3;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      await w.waitForRunning(cdc.name, 60000);
      const bad = await w.request('POST', `/connectors/${cdc.name}/snapshots`, { 'data-collections': [] });
      assert.equal(bad.status, 400);
      const r = await w.request('POST', `/connectors/${cdc.name}/snapshots`, { 'data-collections': [`public.${src}`], type: 'incremental' });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      // Kill the source once a few chunks went through, restart it on the same offsets.
      await waitFor(async () => (await count(`SELECT count(*) AS n FROM ${dst}`).catch(() => 0)) > 6000, { timeoutMs: 120000, intervalMs: 100, message: 'snapshot rows arriving' });
      await w.kill();
      w = await startWorker({ dir: w.dir, workerConfig });
      assert.ok(!w.logs().includes('Incremental snapshot complete'));
      await waitFor(() => w!.logs().includes('Continuing the incremental snapshot'), { timeoutMs: 60000, message: 'the snapshot to continue after the restart' });
      await waitFor(() => w!.logs().includes('Incremental snapshot complete'), { timeoutMs: 180000, intervalMs: 500, message: 'the incremental snapshot to complete' });
      writing = false;
      await writer;
      console.log(`${changes} changes written during the snapshot`);
      await waitFor(async () => (await difference(src, dst, 'id, v, n')) === 0, { timeoutMs: 120000, intervalMs: 500, message: 'the replica identical to the source' });
      assert.equal(await count(`SELECT count(*) AS n FROM ${dst}`), await count(`SELECT count(*) AS n FROM ${src}`));
    } finally {
      writing = false;
      await writer.catch(() => undefined);
      await w?.request('DELETE', `/connectors/${cdc.name}`);
      await w?.stop();
      await sinkWorker.stop();
    }
  });

  it('an execute-snapshot row starts it, a stop-snapshot row stops it', { timeout: 180000 }, async () => {
    const tag = uniqueName('incs');
    const base = tag.replace(/-/g, '_');
    const src = `${base}_src`;
    const signal = `${base}_signal`;
    await db.query(`CREATE TABLE ${src} (id int PRIMARY KEY, v text)`);
    await db.query(`INSERT INTO ${src} SELECT g, 'v' || g FROM generate_series(1, 200000) g`);
    await db.query(`CREATE TABLE ${signal} (id text PRIMARY KEY, type text NOT NULL, data text)`);
    cleanup.push(async () => {
      await db.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [base]).catch(() => undefined);
      await db.query(`DROP PUBLICATION IF EXISTS ${base}_pub`);
      for (const t of [src, signal]) await db.query(`DROP TABLE IF EXISTS ${t}`);
    });
    const cdc = {
      name: `${tag}-cdc`,
      config: {
        'connector.class': 'PostgresCdcSource', 'connection.url': PG_URL, 'topic.prefix': tag, 'slot.name': base, 'publication.name': `${base}_pub`,
        'publication.autocreate.mode': 'filtered', 'table.include.list': src, 'snapshot.mode': 'never', 'heartbeat.interval.ms': '500',
        'signal.data.collection': signal, 'incremental.snapshot.chunk.size': '200',
      },
    };
    const w = await startWorker({ workerConfig: { 'offset.flush.interval.ms': 300 }, connectors: [cdc] });
    const incremental = async () => {
      const r = await w.request('GET', `/connectors/${cdc.name}/offsets`);
      return (r.body?.offsets?.[0]?.offset ?? {}).incremental as { tables: string[]; after: string[] | null } | undefined;
    };
    try {
      await w.waitForRunning(cdc.name, 60000);
      await db.query(`INSERT INTO ${signal} VALUES ('start-1', 'execute-snapshot', $1)`, [JSON.stringify({ 'data-collections': [src], type: 'incremental' })]);
      // Progress shows in the stored offsets: the table and the key of the last chunk delivered.
      const started = await waitFor(async () => {
        const inc = await incremental();
        return inc?.after ? inc : null;
      }, { timeoutMs: 60000, intervalMs: 200, message: 'the incremental snapshot in the offsets' });
      assert.deepEqual(started.tables, [`public.${src}`]);
      await db.query(`INSERT INTO ${signal} VALUES ('stop-1', 'stop-snapshot', $1)`, [JSON.stringify({ 'data-collections': [src] })]);
      await waitFor(() => w.logs().includes('Incremental snapshot stopped'), { timeoutMs: 30000, message: 'the stop' });
      await waitFor(async () => (await incremental()) === undefined, { timeoutMs: 30000, intervalMs: 200, message: 'offsets without the snapshot' });
      assert.ok(!w.logs().includes('Incremental snapshot complete'), 'stopped before the end');
    } finally {
      await w.request('DELETE', `/connectors/${cdc.name}`);
      await w.stop();
    }
  });
});
