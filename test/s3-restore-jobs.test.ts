/**
 * S3Source restore as a chunked job (restore.chunked=true) against the s3rver
 * emulator and real Kafka: 60 backup objects (3 partitions x 20 objects of
 * 150 records, S3Sink's layout) restored one chunk per object by 2 worker
 * processes sharing a BullMQ queue, one killed with SIGKILL mid-restore; and
 * without Redis, the worker killed and restarted on its folder. The restored
 * topic (read_committed) must hold every record exactly once, in its
 * original partition.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { baseConfig, createBucket, dropBucket, putObject } from '../packages/connectors/test/s3/helpers.js';
import { createTopic, readCommitted, requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const REDIS_URL = process.env.FERRY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PARTITIONS = 3;
const OBJECTS_PER_PARTITION = 20;
const PER_OBJECT = 150;
const TOTAL = PARTITIONS * OBJECTS_PER_PARTITION * PER_OBJECT;

/** Writes the backup of `topic` as S3Sink lays it out with the default partitioner (value-only JSON lines); record id = partition * 1e6 + offset. */
async function writeBackup(bucket: string, dir: string, topic: string): Promise<void> {
  const puts: Array<Promise<void>> = [];
  for (let p = 0; p < PARTITIONS; p++) {
    for (let f = 0; f < OBJECTS_PER_PARTITION; f++) {
      const start = f * PER_OBJECT;
      const body = Array.from({ length: PER_OBJECT }, (_, i) => JSON.stringify({ id: p * 1_000_000 + start + i, pad: 'x'.repeat(40) })).join('\n') + '\n';
      const key = `${dir}/${topic}/partition=${p}/${topic}+${p}+${String(start).padStart(10, '0')}.json`;
      puts.push(putObject(bucket, key, body));
      if (puts.length >= 10) await Promise.all(puts.splice(0));
    }
  }
  await Promise.all(puts);
}

/** Reads the restored topic (read_committed, with the Java client: see readCommitted) until `expected` records came and nothing more for `settleMs`. */
async function readRestored(topic: string, expected: number, settleMs: number): Promise<{ records: number; distinct: number; misplaced: number }> {
  const all = await readCommitted(topic, expected, { timeoutMs: 120000, idleMs: Math.max(settleMs, 10_000) });
  const seen = new Set<number>();
  let misplaced = 0;
  for (const r of all) {
    const id = Number(JSON.parse(r.value!).id);
    if (Math.floor(id / 1_000_000) !== r.partition) misplaced++;
    seen.add(id);
  }
  return { records: all.length, distinct: seen.size, misplaced };
}

function restoreConfig(bucket: string, dir: string, topic: string, target: string) {
  return {
    ...baseConfig(bucket),
    'connector.class': 'S3Source',
    mode: 'restore',
    'topics.dir': dir,
    topics: topic,
    'topic.rename.format': target,
    'restore.chunked': 'true',
    'restore.chunk.objects': '1',
    // Small pages: many transactions, so the kill lands mid-restore.
    'record.batch.max.size': '10',
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'value.converter.schemas.enable': 'false',
  };
}

async function jobsOf(w: WorkerHandle, connector: string): Promise<any[]> {
  const r = await w.request('GET', `/connectors/${connector}/jobs`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

describe('S3Source restore as a chunked job', { timeout: 400_000 }, () => {
  let bucket: string;
  const workers: WorkerHandle[] = [];
  before(async () => {
    await requireStack('kafka', 's3', 'redis');
    bucket = await createBucket('ferry-restore-jobs');
  });
  after(async () => {
    for (const w of workers) await w.stop().catch(() => undefined);
    await dropBucket(bucket);
  });

  it('2 workers restore 60 objects one chunk each, one killed with SIGKILL mid-restore: every record exactly once', async () => {
    const tag = uniqueName('s3rj');
    const topic = tag.replace(/-/g, '_');
    const dir = `${tag}-dir`;
    const target = `${tag}-restored`;
    await writeBackup(bucket, dir, topic);
    await createTopic(target, PARTITIONS);
    const jobs = { 'jobs.redis.url': REDIS_URL, 'jobs.queue.name': `q-${tag}`, 'jobs.lock.duration.ms': 4000, 'jobs.backoff.ms': 200 };
    let b: WorkerHandle | undefined = await startWorker({ workerConfig: { ...jobs, 'jobs.concurrency': 2 } });
    workers.push(b);
    const name = `${tag}-restore`;
    const a = await startWorker({ workerConfig: { ...jobs, 'jobs.concurrency': 1 }, connectors: [{ name, config: restoreConfig(bucket, dir, topic, target) }] });
    workers.push(a);
    await waitFor(async () => (await jobsOf(a, name)).length === 1, { timeoutMs: 60000, message: 'the restore job' });
    const [planned] = await jobsOf(a, name);
    assert.equal(planned.chunks.total, PARTITIONS * OBJECTS_PER_PARTITION, 'one chunk per object');
    await waitFor(async () => {
      const [job] = await jobsOf(a, name);
      return job.rows >= TOTAL / 6 && b!.logs().includes('Running chunk');
    }, { timeoutMs: 120000, intervalMs: 100, message: 'records flowing on both workers' });
    const [before] = await jobsOf(a, name);
    assert.notEqual(before.state, 'completed', 'the restore ended before the kill: nothing was tested');
    await b.kill();
    b = undefined;
    await waitFor(async () => (await jobsOf(a, name))[0]?.state === 'completed', { timeoutMs: 240000, intervalMs: 500, message: 'the restore completed on the surviving worker' });
    const [done] = await jobsOf(a, name);
    assert.equal(done.chunks.done, PARTITIONS * OBJECTS_PER_PARTITION);
    const r = await readRestored(target, TOTAL, 3000);
    assert.equal(r.distinct, TOTAL, 'every record restored');
    assert.equal(r.records, TOTAL, 'no record twice');
    assert.equal(r.misplaced, 0, 'every record in its original partition');
    const topics = await a.request('GET', `/connectors/${name}/topics`);
    assert.deepEqual(topics.body[name].topics, [target]);
  });

  it('without Redis: chunks in the task, the worker killed with SIGKILL and restarted: every record exactly once', async () => {
    const tag = uniqueName('s3rl');
    const topic = tag.replace(/-/g, '_');
    const dir = `${tag}-dir`;
    const target = `${tag}-restored`;
    await writeBackup(bucket, dir, topic);
    await createTopic(target, PARTITIONS);
    const name = `${tag}-restore`;
    const connectors = [{ name, config: restoreConfig(bucket, dir, topic, target) }];
    const first = await startWorker({ connectors, workerConfig: { 'jobs.backoff.ms': 200 } });
    workers.push(first);
    await waitFor(async () => ((await jobsOf(first, name))[0]?.rows ?? 0) >= TOTAL / 4, { timeoutMs: 120000, intervalMs: 100, message: 'records flowing' });
    const [before] = await jobsOf(first, name);
    assert.notEqual(before.state, 'completed', 'the restore ended before the kill: nothing was tested');
    await first.kill();
    const second = await startWorker({ dir: first.dir, connectors, workerConfig: { 'jobs.backoff.ms': 200 } });
    workers.push(second);
    await waitFor(async () => (await jobsOf(second, name))[0]?.state === 'completed', { timeoutMs: 240000, intervalMs: 500, message: 'the restore completed after the restart' });
    assert.match(second.logs(), /Chunk already complete/, 'chunks done before the kill were not run again');
    const r = await readRestored(target, TOTAL, 3000);
    assert.equal(r.distinct, TOTAL, 'every record restored');
    assert.equal(r.records, TOTAL, 'no record twice');
    assert.equal(r.misplaced, 0);
  });
});
