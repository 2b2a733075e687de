/**
 * The parallel snapshot end to end: PostgresCdcSource -> Kafka through real
 * worker processes, the snapshot split into N chunks run as BullMQ jobs by N
 * workers (one chunk each), records written in Kafka transactions; beside
 * COPY (SELECT ...) TO STDOUT of the same rows in the same run. N=1 is the
 * single-task snapshot (no jobs).
 *
 *   node --import tsx --conditions=development bench/jobs.ts    (BENCH_ROWS, default 1000000; BENCH_CHUNKS, default 1,2,4)
 *
 * rows/s of a job: rows over the time from its first chunk's start to its
 * last chunk's end (as GET /connectors/<name>/jobs reports it); "wall" also
 * counts planning and the slot's creation. JSON without inline schemas.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { startWorker, waitFor, type WorkerHandle } from '../test/harness/index.js';

const PG_URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.FERRY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const N = Number(process.env.BENCH_ROWS ?? 1_000_000);
const tag = `bjobs_${randomBytes(3).toString('hex')}`;
const SRC = `${tag}_src`;

async function copyOut(db: pg.Client): Promise<number> {
  const t0 = performance.now();
  let lines = 0;
  await pipeline(
    db.query(copyStreams.to(`COPY (SELECT * FROM ${SRC}) TO STDOUT`)),
    new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const b of chunk) if (b === 10) lines++;
        cb();
      },
    }),
  );
  if (lines !== N) throw new Error(`COPY read ${lines} rows`);
  return N / ((performance.now() - t0) / 1000);
}

async function run(db: pg.Client, chunks: number): Promise<{ rowsPerSecond: number; wall: number }> {
  const name = `${tag}_${chunks}`;
  const workers: WorkerHandle[] = [];
  const jobs = { 'jobs.redis.url': REDIS_URL, 'jobs.queue.name': `q-${name}`, 'jobs.concurrency': 1, 'offset.flush.interval.ms': 1000 };
  try {
    for (let i = 1; i < chunks; i++) workers.push(await startWorker({ workerConfig: jobs }));
    const main = await startWorker({ workerConfig: jobs });
    workers.push(main);
    const config = {
      'connector.class': 'PostgresCdcSource', 'connection.url': PG_URL, 'topic.prefix': name, 'slot.name': name, 'publication.name': `${name}_pub`,
      'publication.autocreate.mode': 'filtered', 'table.include.list': SRC, 'snapshot.max.threads': String(chunks), 'heartbeat.interval.ms': '0',
      'slot.drop.on.stop': 'true',
      // Schemas inline in every JSON message (~3 KiB of envelope schema per row) would measure Kafka bandwidth, not the snapshot.
      'key.converter.schemas.enable': 'false',
      'value.converter.schemas.enable': 'false',
    };
    const t0 = Date.now();
    const r = await main.request('POST', '/connectors', { name, config });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    if (chunks === 1) {
      await waitFor(() => main.logs().includes('Snapshot complete'), { timeoutMs: 600000, intervalMs: 100, message: 'snapshot' });
      const wall = (Date.now() - t0) / 1000;
      return { rowsPerSecond: N / wall, wall };
    }
    const job = await waitFor(async () => {
      const [j] = (await main.request('GET', `/connectors/${name}/jobs`)).body as Array<{ state: string; rows: number; rowsPerSecond: number; error?: string }>;
      if (j?.state === 'failed') throw new Error(j.error);
      return j?.state === 'completed' ? j : null;
    }, { timeoutMs: 600000, intervalMs: 200, message: 'job' });
    if (job.rows !== N) throw new Error(`job delivered ${job.rows} rows`);
    return { rowsPerSecond: job.rowsPerSecond, wall: (Date.now() - t0) / 1000 };
  } finally {
    await workers[workers.length - 1]?.request('DELETE', `/connectors/${name}`).catch(() => undefined);
    for (const w of workers) await w.stop();
    await db.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [name]).catch(() => undefined);
    await db.query(`DROP PUBLICATION IF EXISTS ${name}_pub`).catch(() => undefined);
  }
}

const db = new pg.Client({ connectionString: PG_URL });
await db.connect();
try {
  console.log(`Parallel snapshot end to end, ${N} rows (${tag})`);
  await db.query(`CREATE TABLE ${SRC} (id int PRIMARY KEY, v text, amount numeric(12,2), at timestamptz, doc jsonb)`);
  await db.query(
    `INSERT INTO ${SRC} SELECT g, 'value ' || g, g / 100.0, '2024-01-01'::timestamptz + g * interval '1 ms', jsonb_build_object('g', g, 'k', 'x') FROM generate_series(1, ${N}) g`,
  );
  await db.query(`VACUUM ANALYZE ${SRC}`);
  const copy = await copyOut(db);
  console.log(`copy-out            ${Math.round(copy).toLocaleString('en-US')} rows/s`);
  for (const n of (process.env.BENCH_CHUNKS ?? '1,2,4').split(',').map(Number)) {
    const r = await run(db, n);
    console.log(
      `${n} chunk(s) on ${n} worker(s): ${Math.round(r.rowsPerSecond).toLocaleString('en-US')} rows/s (wall ${r.wall.toFixed(1)} s), ${(r.rowsPerSecond / copy).toFixed(2)} of COPY`,
    );
  }
} finally {
  await db.query(`DROP TABLE IF EXISTS ${SRC}`).catch(() => undefined);
  await db.end();
}
process.exit(0);
