/**
 * Job records in Redis are bounded: a finished job is removed (its metadata
 * and its chunk jobs) once it ended more than jobs.retention.ms ago, while a
 * job still running stays. Real Redis and Kafka.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PLUGINS = join(ROOT, 'test/fixtures/test-plugins.ts');
const REDIS_URL = process.env.FERRY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function jobsOf(w: WorkerHandle, connector: string): Promise<any[]> {
  const r = await w.request('GET', `/connectors/${connector}/jobs`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

describe('job retention', () => {
  let w: WorkerHandle | undefined;
  let redis: Redis;
  before(async () => {
    await requireStack('kafka', 'redis');
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  after(async () => {
    await w?.stop().catch(() => undefined);
    redis.disconnect();
  });

  it('removes a finished job after jobs.retention.ms and keeps a running one', { timeout: 120000 }, async () => {
    const tag = uniqueName('jobret');
    const queueName = `q-${tag}`;
    const retentionMs = 4000;
    const base = { 'connector.class': 'ChunkedSource', chunks: '2', 'key.converter': 'org.apache.kafka.connect.storage.StringConverter', 'value.converter': 'org.apache.kafka.connect.storage.StringConverter' };
    const fast = `${tag}-fast`;
    const slow = `${tag}-slow`;
    w = await startWorker({
      workerConfig: { 'plugin.path': PLUGINS, 'jobs.redis.url': REDIS_URL, 'jobs.queue.name': queueName, 'jobs.concurrency': 4, 'jobs.retention.ms': retentionMs },
      connectors: [
        { name: fast, config: { ...base, topic: `${tag}-a`, 'rows.per.chunk': '20' } },
        // 40 pages of 0.5 s per chunk: runs well past the fast job's retention.
        { name: slow, config: { ...base, topic: `${tag}-b`, 'rows.per.chunk': '200', 'page.size': '5', 'page.delay.ms': '500' } },
      ],
    });
    await waitFor(async () => (await jobsOf(w!, fast))[0]?.state === 'completed', { timeoutMs: 60000, intervalMs: 200, message: 'the fast job completed' });
    const completedSeen = Date.now();
    const metaKey = `ferry:jobs:${queueName}:${fast}`;
    assert.ok(await redis.hget(metaKey, 'rows-1'), 'job metadata in Redis while retained');
    const queue = new Queue(queueName, { connection: { url: REDIS_URL, maxRetriesPerRequest: 1 } });
    try {
      assert.ok(await queue.getJob(`${fast}.rows-1.0`), 'chunk job kept while retained');
      await waitFor(async () => (await jobsOf(w!, fast)).length === 0, { timeoutMs: 60000, intervalMs: 200, message: 'the finished job removed' });
      const removedSeen = Date.now();
      assert.ok(removedSeen - completedSeen >= retentionMs - 1500, `removed ${removedSeen - completedSeen} ms after it was seen completed, retention ${retentionMs} ms`);
      assert.equal(await redis.hget(metaKey, 'rows-1'), null, 'job metadata removed');
      assert.equal(await queue.getJob(`${fast}.rows-1.0`), undefined, 'chunk job 0 removed');
      assert.equal(await queue.getJob(`${fast}.rows-1.1`), undefined, 'chunk job 1 removed');
      const [running] = await jobsOf(w, slow);
      assert.ok(running, 'the running job is kept');
      assert.equal(running.state, 'running');
      assert.ok(await queue.getJob(`${slow}.rows-1.0`));
      assert.match(w.logs(), /Removed a finished job past its retention/);
    } finally {
      await queue.close();
    }
  });
});
