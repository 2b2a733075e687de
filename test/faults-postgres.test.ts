/**
 * Fault suite, PostgreSQL: the server drops the connector's sessions
 * (pg_terminate_backend) while CDC streams and the sink writes, several
 * times; the replica ends identical. The shared server is not restarted:
 * that would cut every other user's sessions too; ending exactly this
 * pipeline's sessions is the same fault as seen by the connectors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const PG_URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
let db: pg.Client;
const cleanup: string[] = [];

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return Number((await db.query(sql, params)).rows[0].n);
}

async function difference(a: string, b: string, cols: string): Promise<number> {
  return count(
    `SELECT (SELECT count(*) FROM (SELECT ${cols} FROM ${a} EXCEPT ALL SELECT ${cols} FROM ${b}) x) +
            (SELECT count(*) FROM (SELECT ${cols} FROM ${b} EXCEPT ALL SELECT ${cols} FROM ${a}) y) AS n`,
  ).catch(() => -1);
}

describe('PostgreSQL sessions dropped under CDC and the sink', () => {
  let w: WorkerHandle | undefined;
  before(async () => {
    await requireStack('kafka', 'postgres');
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
  });
  after(async () => {
    await w?.stop().catch(() => undefined);
    for (const sql of cleanup.reverse()) await db.query(sql).catch(() => {});
    await db.end();
  });

  it('the replication session and the sink sessions terminated three times mid-stream: the replica ends identical', async () => {
    const tag = uniqueName('pgfault').replace(/-/g, '_');
    const src = `${tag}_src`;
    const dst = `${tag}_dst`;
    const slot = `${tag}_slot`;
    const pub = `${tag}_pub`;
    cleanup.push(`DROP TABLE IF EXISTS ${src}`, `DROP TABLE IF EXISTS ${dst}`, `DROP PUBLICATION IF EXISTS ${pub}`);
    cleanup.push(`SELECT pg_drop_replication_slot('${slot}') FROM pg_replication_slots WHERE slot_name = '${slot}' AND NOT active`);
    await db.query(`CREATE TABLE ${src} (id int PRIMARY KEY, v text, n int)`);
    await db.query(`INSERT INTO ${src} SELECT g, 'v' || g, 0 FROM generate_series(1, 5000) g`);
    const cols = 'id, v, n';
    const connectors = [
      {
        name: `${tag}-cdc`,
        config: {
          'connector.class': 'PostgresCdcSource', 'connection.url': PG_URL, 'topic.prefix': tag, 'slot.name': slot, 'publication.name': pub,
          'publication.autocreate.mode': 'filtered', 'table.include.list': src, 'heartbeat.interval.ms': '1000',
          'errors.retry.timeout': '-1', 'errors.task.restart.backoff.initial.ms': '200',
        },
      },
      {
        name: `${tag}-sink`,
        config: {
          'connector.class': 'PostgresSink', 'connection.url': PG_URL, topics: `${tag}.public.${src}`, 'table.name.format': dst,
          'insert.mode': 'upsert', 'pk.mode': 'record_key', 'delete.enabled': 'true', 'auto.create': 'true', 'batch.size': '200',
          'errors.retry.timeout': '-1', 'errors.task.restart.backoff.initial.ms': '200',
        },
      },
    ];
    w = await startWorker({ workerConfig: { 'offset.flush.interval.ms': 500 }, connectors });
    await waitFor(async () => (await difference(src, dst, cols)) === 0, { timeoutMs: 120_000, message: 'the snapshot copied' });

    // This pipeline's sessions only: the slot's walsender and the sessions that last touched its tables.
    const terminate = async (): Promise<number> => {
      const r = await db.query(
        `SELECT pg_terminate_backend(pid) AS ok FROM (
           SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL
           UNION SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND application_name = 'ferry' AND (query ILIKE $2 OR query ILIKE $3)
         ) p`,
        [slot, `%${dst}%`, `%${src}%`],
      );
      return r.rowCount ?? 0;
    };

    let round = 0;
    let writes = 0;
    const writer = (async () => {
      // steady changes: updates, inserts and deletes in small transactions
      for (let i = 0; round < 3; i++) {
        await db.query('BEGIN');
        await db.query(`UPDATE ${src} SET n = n + 1, v = 'u' || $1 WHERE id % 50 = $2`, [i, i % 50]);
        await db.query(`INSERT INTO ${src} VALUES ($1, 'new', 0) ON CONFLICT (id) DO NOTHING`, [10000 + i]);
        if (i % 7 === 0) await db.query(`DELETE FROM ${src} WHERE id = $1`, [1 + ((i * 13) % 5000)]);
        await db.query('COMMIT');
        writes++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const killed: number[] = [];
    try {
      for (round = 0; round < 3; ) {
        const before = writes;
        await waitFor(() => writes >= before + 30, { timeoutMs: 60_000, message: 'changes flowing before the fault' });
        killed.push(await terminate());
        // back to streaming: the slot is active again
        await waitFor(async () => (await count(`SELECT count(*) AS n FROM pg_replication_slots WHERE slot_name = $1 AND active`, [slot])) === 1, {
          timeoutMs: 120_000,
          message: 'the slot active again',
        });
        round++;
      }
    } finally {
      round = 3;
      await writer;
    }
    assert.ok(killed.some((n) => n > 0), `sessions terminated: ${killed}`);
    await db.query(`INSERT INTO ${src} VALUES (99999, 'last', 0)`);
    await waitFor(async () => (await difference(src, dst, cols)) === 0, { timeoutMs: 180_000, intervalMs: 500, message: 'the replica identical after the faults' });
    assert.equal(await count(`SELECT count(*) AS n FROM ${dst}`), await count(`SELECT count(*) AS n FROM ${src}`));
    const st = await w.request('GET', `/connectors/${tag}-cdc/status`);
    const sk = await w.request('GET', `/connectors/${tag}-sink/status`);
    console.log(`pg faults: ${writes} transactions, sessions terminated per round ${killed.join(', ')}; cdc ${st.body.tasks[0]?.state}, sink ${sk.body.tasks[0]?.state}`);
    await waitFor(async () => (await w!.request('GET', `/connectors/${tag}-cdc/status`)).body.tasks[0]?.state === 'RUNNING', { message: 'CDC task RUNNING' });
    await waitFor(async () => (await w!.request('GET', `/connectors/${tag}-sink/status`)).body.tasks[0]?.state === 'RUNNING', { message: 'sink task RUNNING' });
    await w.stop();
    w = undefined;
  });
});
