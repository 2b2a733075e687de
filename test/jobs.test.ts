/**
 * Chunked jobs end to end: a 1,000,000-row table snapshotted by
 * PostgresCdcSource in 3 chunks run as BullMQ jobs by 2 worker processes,
 * one of them killed with SIGKILL mid-snapshot (its chunks are taken over by
 * the other); the topic must hold every row exactly once (read_committed).
 * And the same without Redis: chunks in the task, the worker killed and
 * restarted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import pg from 'pg';
import { committedTotal, createTopic, produce, readCommitted, requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const PG_URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.FERRY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
let db: pg.Client;
const cleanup: Array<() => Promise<unknown>> = [];

/**
 * Reads a topic from the start with the Java client (read_committed, see
 * readCommitted) until `expected` records arrived and none came for
 * `settleMs`; returns how many records there were and how many distinct ids
 * (the key's `id`).
 */
async function countIds(topic: string, expected: number, opts: { timeoutMs: number; settleMs: number }): Promise<{ records: number; distinct: number }> {
  const all = await readCommitted(topic, expected, { timeoutMs: opts.timeoutMs, idleMs: Math.max(opts.settleMs, 10_000), key: true, value: false });
  const seen = new Uint8Array(expected + 1);
  let distinct = 0;
  for (const r of all) {
    const id = Number(JSON.parse(r.key!).id);
    if (id >= 0 && id <= expected && seen[id] === 0) {
      seen[id] = 1;
      distinct++;
    }
  }
  return { records: all.length, distinct };
}

async function makeTable(table: string, rows: number): Promise<void> {
  await db.query(`CREATE TABLE ${table} (id int8 PRIMARY KEY, v text, n int4, at timestamptz)`);
  await db.query(`INSERT INTO ${table} SELECT g, md5(g::text), g % 1000, '2026-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, ${rows}) g`);
  await db.query(`ANALYZE ${table}`);
  cleanup.push(() => db.query(`DROP TABLE IF EXISTS ${table}`));
}

function cdcConfig(tag: string, table: string, extra: Record<string, string> = {}) {
  const slot = tag.replace(/-/g, '_');
  cleanup.push(async () => {
    await db.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [slot]).catch(() => undefined);
    await db.query(`DROP PUBLICATION IF EXISTS ${slot}_pub`).catch(() => undefined);
  });
  return {
    name: `${tag}-cdc`,
    config: {
      'connector.class': 'PostgresCdcSource',
      'connection.url': PG_URL,
      'topic.prefix': tag,
      'slot.name': slot,
      'publication.name': `${slot}_pub`,
      'publication.autocreate.mode': 'filtered',
      'table.include.list': table,
      'snapshot.max.threads': '3',
      'snapshot.fetch.size': '5000',
      'key.converter.schemas.enable': 'false',
      'value.converter.schemas.enable': 'false',
      'heartbeat.interval.ms': '1000',
      ...extra,
    },
  };
}

async function jobsOf(w: WorkerHandle, connector: string): Promise<any[]> {
  const r = await w.request('GET', `/connectors/${connector}/jobs`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

describe('chunked jobs', () => {
  before(async () => {
    await requireStack('kafka', 'postgres', 'redis');
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
  });

  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    await db.end();
  });

  it('snapshots 1,000,000 rows in 3 chunks on 2 workers, one killed mid-snapshot, each row exactly once', { timeout: 600000 }, async () => {
    const tag = uniqueName('jobs');
    const table = tag.replace(/-/g, '_');
    const t0 = Date.now();
    const at = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    await makeTable(table, 1_000_000);
    console.log(`${at()}: table of 1,000,000 rows ready`);
    const jobsConfig = {
      'jobs.redis.url': REDIS_URL,
      'jobs.queue.name': `q-${tag}`,
      'jobs.lock.duration.ms': 4000,
      'jobs.backoff.ms': 200,
      'offset.flush.interval.ms': 500,
    };
    // B only processes chunks; A runs the connector and processes chunks too.
    let b: WorkerHandle | undefined = await startWorker({ workerConfig: { ...jobsConfig, 'jobs.concurrency': 2 } });
    const cdc = cdcConfig(tag, table);
    const a = await startWorker({ workerConfig: { ...jobsConfig, 'jobs.concurrency': 1 }, connectors: [cdc] });
    try {
      await waitFor(async () => (await jobsOf(a, cdc.name)).length === 1, { timeoutMs: 60000, message: 'the snapshot job' });
      // Kill B once it has delivered some pages of a chunk, well before the end.
      await waitFor(async () => {
        const [job] = await jobsOf(a, cdc.name);
        return job.rows >= 150000 && b!.logs().includes('Running chunk');
      }, { timeoutMs: 180000, intervalMs: 100, message: 'rows flowing' });
      const [before] = await jobsOf(a, cdc.name);
      assert.notEqual(before.state, 'completed', 'the snapshot ended before the kill: nothing was tested');
      await b.kill();
      b = undefined;
      console.log(`${at()}: worker B killed with ${before.rows} rows delivered, ${before.chunks.done}/3 chunks done`);
      const job = await waitFor(async () => {
        const [j] = await jobsOf(a, cdc.name);
        if (j.state === 'failed') throw new Error(`job failed: ${j.error}`);
        return j.state === 'completed' ? j : null;
      }, { timeoutMs: 300000, intervalMs: 500, message: 'the snapshot job to complete' });
      console.log(`${at()}: job complete: ${JSON.stringify(job)}`);
      assert.match(a.logs(), /Resuming chunk/, 'a chunk of the killed worker was resumed on the other one');
      const { records, distinct } = await countIds(`${tag}.public.${table}`, 1_000_000, { timeoutMs: 300000, settleMs: 3000 });
      console.log(`${at()}: topic read: ${records} records, ${distinct} distinct ids`);
      assert.equal(distinct, 1_000_000);
      assert.equal(records, 1_000_000);
      const metrics = await a.request('GET', '/metrics');
      assert.match(String(metrics.body ?? ''), /ferry_job_rows_total\{connector="[^"]+"\} \d+/);
      await waitFor(async () => (await a.request('GET', `/connectors/${cdc.name}/status`)).body.tasks?.[0]?.state === 'RUNNING', { message: 'the task streaming' });
    } finally {
      await b?.stop();
      await a.request('DELETE', `/connectors/${cdc.name}`);
      await a.stop();
    }
  });

  it('BullMqSink: N records become N jobs; a replay after kill -9 adds none', { timeout: 180000 }, async () => {
    const tag = uniqueName('bmq');
    const topic = `${tag}-in`;
    const queueName = `${tag}-queue`;
    const N = 3000;
    await createTopic(topic, 3);
    const queue = new Queue(queueName, { connection: { url: REDIS_URL, maxRetriesPerRequest: null } });
    cleanup.push(async () => {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    });
    const total = async () => {
      const c = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'paused');
      return Object.values(c).reduce((a, b) => a + b, 0);
    };
    const sink = {
      name: `${tag}-sink`,
      config: {
        'connector.class': 'BullMqSink',
        topics: topic,
        'tasks.max': '2',
        'redis.url': REDIS_URL,
        'queue.name': queueName,
        'job.name.field': 'kind',
        'job.attempts': '3',
        'key.converter': 'StringConverter',
        'value.converter.schemas.enable': 'false',
      },
    };
    // Offsets are committed rarely: the kill comes before any commit, so the restart replays every record.
    let w: WorkerHandle | undefined = await startWorker({ workerConfig: { 'offset.flush.interval.ms': 600000 }, connectors: [sink] });
    try {
      // Both tasks in the group before any record: a later join would revoke (and commit) what the first task consumed.
      await w.waitForRunning(sink.name);
      await produce(topic, Array.from({ length: N }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ id: i, kind: i % 2 ? 'odd' : 'even' }) })));
      await waitFor(async () => (await total()) >= N, { timeoutMs: 60000, message: `${N} jobs` });
      assert.equal(await committedTotal(`connect-${sink.name}`, topic), 0, 'no offsets committed before the kill');
      await w.kill();
      w = await startWorker({ dir: w.dir, workerConfig: { 'offset.flush.interval.ms': 500 } });
      // Every record consumed again (the group's offsets reach the end), and still N jobs.
      await waitFor(async () => (await committedTotal(`connect-${sink.name}`, topic)) >= N, { timeoutMs: 90000, message: 'the replay to be committed' });
      assert.equal(await total(), N);
      const job = (await queue.getJob(`${topic}-0-0`)) ?? (await queue.getJob(`${topic}-1-0`)) ?? (await queue.getJob(`${topic}-2-0`));
      assert.ok(job, 'job ids are <topic>-<partition>-<offset>');
      assert.ok(job.name === 'odd' || job.name === 'even', `job name from the value field: ${job.name}`);
      assert.equal(typeof job.data.id, 'number');
      assert.equal(job.opts.attempts, 3);
      // New records after the replay still become jobs.
      await produce(topic, [{ key: 'extra', value: JSON.stringify({ id: N, kind: 'even' }) }]);
      await waitFor(async () => (await total()) === N + 1, { timeoutMs: 30000, message: 'the new record as a job' });
    } finally {
      await w?.stop();
    }
  });

  it('without Redis: the chunks run in the task; kill -9 and restart resumes them, each row exactly once', { timeout: 300000 }, async () => {
    const tag = uniqueName('jobl');
    const table = tag.replace(/-/g, '_');
    const ROWS = 200_000;
    await makeTable(table, ROWS);
    const cdc = cdcConfig(tag, table, { 'snapshot.fetch.size': '2000', 'snapshot.read.method': 'cursor' });
    const workerConfig = { 'offset.flush.interval.ms': 300 };
    let w: WorkerHandle | undefined = await startWorker({ workerConfig, connectors: [cdc] });
    try {
      const [job] = await waitFor(async () => {
        const jobs = await jobsOf(w!, cdc.name);
        return jobs.length === 1 && jobs[0].rows >= 30000 ? jobs : null;
      }, { timeoutMs: 120000, intervalMs: 100, message: 'rows flowing' });
      assert.notEqual(job.state, 'completed', 'the snapshot ended before the kill: nothing was tested');
      assert.equal(job.chunks.total, 3);
      const missing = await w.request('POST', `/connectors/${cdc.name}/jobs/no-such-job/cancel`);
      assert.equal(missing.status, 404);
      await w.kill();
      w = await startWorker({ dir: w.dir, workerConfig });
      await waitFor(async () => {
        const [j] = await jobsOf(w!, cdc.name);
        if (j?.state === 'failed') throw new Error(`job failed: ${j.error}`);
        return j?.state === 'completed';
      }, { timeoutMs: 180000, intervalMs: 500, message: 'the resumed snapshot to complete' });
      assert.match(w.logs(), /Resuming chunk/);
      const { records, distinct } = await countIds(`${tag}.public.${table}`, ROWS, { timeoutMs: 120000, settleMs: 3000 });
      assert.equal(distinct, ROWS);
      assert.equal(records, ROWS);
    } finally {
      await w?.request('DELETE', `/connectors/${cdc.name}`);
      await w?.stop();
    }
  });

  it('pause, resume and cancel a job over REST (BullMQ)', { timeout: 300000 }, async () => {
    const tag = uniqueName('jobp');
    const table = tag.replace(/-/g, '_');
    await makeTable(table, 300_000);
    const cdc = cdcConfig(tag, table, { 'snapshot.fetch.size': '1000' });
    const w = await startWorker({
      workerConfig: { 'jobs.redis.url': REDIS_URL, 'jobs.queue.name': `q-${tag}`, 'jobs.concurrency': 1, 'offset.flush.interval.ms': 500 },
      connectors: [cdc],
    });
    try {
      const [job] = await waitFor(async () => {
        const jobs = await jobsOf(w, cdc.name);
        return jobs.length === 1 && jobs[0].rows > 0 ? jobs : null;
      }, { timeoutMs: 60000, intervalMs: 100, message: 'rows flowing' });
      const p = await w.request('POST', `/connectors/${cdc.name}/jobs/${job.id}/pause`);
      assert.equal(p.status, 202, JSON.stringify(p.body));
      // The running chunk stops after its current page and waits (delayed) while the job is paused.
      const paused = await waitFor(async () => {
        const [j] = await jobsOf(w, cdc.name);
        return j.state === 'paused' && j.chunks.running === 0 ? j : null;
      }, { timeoutMs: 60000, intervalMs: 200, message: 'the job paused' });
      assert.ok(paused.rows < 300_000, 'paused before the end');
      assert.equal((await w.request('POST', `/connectors/${cdc.name}/jobs/${job.id}/resume`)).status, 202);
      await waitFor(async () => (await jobsOf(w, cdc.name))[0].rows > paused.rows, { timeoutMs: 60000, intervalMs: 200, message: 'rows flowing after resume' });
      const c = await w.request('POST', `/connectors/${cdc.name}/jobs/${job.id}/cancel`);
      assert.equal(c.status, 202);
      const cancelled = (await jobsOf(w, cdc.name))[0];
      assert.equal(cancelled.state, 'cancelled');
      // The task gives up the snapshot and streams.
      await waitFor(() => w.logs().includes('The snapshot job was cancelled'), { timeoutMs: 30000, message: 'the task to notice the cancel' });
      const metrics = String((await w.request('GET', '/metrics')).body);
      assert.match(metrics, /ferry_job_chunks_total\{connector="[^"]+",outcome="[a-z]+"\} \d+/);
    } finally {
      await w.request('DELETE', `/connectors/${cdc.name}`);
      await w.stop();
    }
  });

  it('PostgresSource bulk mode: a round in 3 chunks as BullMQ jobs, every row once', { timeout: 300000 }, async () => {
    const tag = uniqueName('jobb');
    const table = tag.replace(/-/g, '_');
    const ROWS = 100_000;
    await makeTable(table, ROWS);
    const name = `${tag}-bulk`;
    const w = await startWorker({
      workerConfig: { 'jobs.redis.url': REDIS_URL, 'jobs.queue.name': `q-${tag}`, 'jobs.concurrency': 3 },
      connectors: [{
        name,
        config: {
          'connector.class': 'PostgresSource', 'connection.url': PG_URL, mode: 'bulk', 'table.include.list': table, 'topic.prefix': `${tag}-`,
          'bulk.max.threads': '3', 'batch.max.rows': '2000', 'poll.interval.ms': '3600000',
          'key.converter.schemas.enable': 'false', 'value.converter.schemas.enable': 'false',
        },
      }],
    });
    try {
      const job = await waitFor(async () => {
        const [j] = await jobsOf(w, name);
        if (j?.state === 'failed') throw new Error(`job failed: ${j.error}`);
        return j?.state === 'completed' ? j : null;
      }, { timeoutMs: 180000, intervalMs: 500, message: 'the bulk round to complete' });
      assert.equal(job.work, 'bulk');
      assert.equal(job.chunks.total, 3);
      assert.equal(job.rows, ROWS);
      const { records, distinct } = await countIds(`${tag}-${table}`, ROWS, { timeoutMs: 120000, settleMs: 3000 });
      assert.equal(distinct, ROWS);
      assert.equal(records, ROWS);
    } finally {
      await w.request('DELETE', `/connectors/${name}`);
      await w.stop();
    }
  });
});
