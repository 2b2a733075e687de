/**
 * Records of chunked jobs go through the task's record path: a record the
 * converter rejects follows errors.tolerance (all: dead-letter queue, in the
 * page's transaction, and the chunk completes; none: the chunk fails, is
 * retried and the job shows failed), chunk records count in the
 * source_record_* metrics, and their topics are listed by
 * GET /connectors/<name>/topics. Real Kafka (and Redis for the queue).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { consume, requireStack, startWorker, topicSize, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PLUGINS = join(ROOT, 'test/fixtures/test-plugins.ts');
const REDIS_URL = process.env.FERRY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const workers: WorkerHandle[] = [];

function metric(text: string, name: string, connector: string): number {
  const re = new RegExp(`^ferry_${name}\\{[^}]*connector="${connector}"[^}]*\\} (\\d+(?:\\.\\d+)?)$`, 'gm');
  let sum = 0;
  for (const m of text.matchAll(re)) sum += Number(m[1]);
  return sum;
}

async function jobsOf(w: WorkerHandle, connector: string): Promise<any[]> {
  const r = await w.request('GET', `/connectors/${connector}/jobs`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

function chunkedConfig(topic: string, extra: Record<string, string>) {
  return {
    'connector.class': 'ChunkedSource',
    topic,
    chunks: '2',
    'rows.per.chunk': '100',
    'page.size': '10',
    // Row 150 (chunk 1, its 6th page) has an object value: the byte converter rejects it.
    'poison.row': '150',
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'org.apache.kafka.connect.converters.ByteArrayConverter',
    ...extra,
  };
}

describe('records of chunked jobs', () => {
  before(async () => {
    await requireStack('kafka', 'redis');
  });

  after(async () => {
    for (const w of workers) await w.stop().catch(() => undefined);
  });

  it('errors.tolerance=all: the rejected record lands in the DLQ, the chunk completes, metrics and topics count chunk records (BullMQ)', { timeout: 180000 }, async () => {
    const tag = uniqueName('jobrec-all');
    const topic = `${tag}-rows`;
    const dlq = `${tag}-dlq`;
    const w = await startWorker({
      workerConfig: { 'plugin.path': PLUGINS, 'jobs.redis.url': REDIS_URL, 'jobs.queue.name': `q-${tag}`, 'jobs.backoff.ms': 200 },
      connectors: [
        {
          name: tag,
          config: chunkedConfig(topic, {
            'errors.tolerance': 'all',
            'errors.deadletterqueue.topic.name': dlq,
            'errors.deadletterqueue.context.headers.enable': 'true',
          }),
        },
      ],
    });
    workers.push(w);
    await waitFor(async () => (await jobsOf(w, tag))[0]?.state === 'completed', { timeoutMs: 90000, intervalMs: 250, message: 'the job completed' });
    const [job] = await jobsOf(w, tag);
    assert.equal(job.chunks.failed, 0);
    const rows = await consume(topic, { count: 199, timeoutMs: 30000, settleMs: 1000 });
    assert.equal(rows.length, 199, 'every row but the rejected one, once');
    assert.equal(new Set(rows.map((m) => m.key!.toString())).size, 199);
    assert.ok(!rows.some((m) => m.key!.toString() === 'row-150'));
    const dead = await consume(dlq, { count: 1, timeoutMs: 30000, settleMs: 1000 });
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.key!.toString(), 'row-150');
    assert.equal(dead[0]!.headers['__connect.errors.stage']?.toString(), 'VALUE_CONVERTER');
    assert.match(dead[0]!.headers['__connect.errors.exception.message']?.toString() ?? '', /ByteArrayConverter/);
    assert.equal(dead[0]!.headers['__connect.errors.connector.name']?.toString(), tag);
    // Topics of chunk records are listed (the chunks' results reach the submitting task's worker).
    await waitFor(async () => {
      const r = await w.request('GET', `/connectors/${tag}/topics`);
      return (r.body[tag]?.topics ?? []).includes(topic);
    }, { timeoutMs: 15000, message: `${topic} listed by GET /connectors/${tag}/topics` });
    const text = (await w.request('GET', '/metrics')).body as string;
    assert.equal(metric(text, 'source_record_poll_total', tag), 200);
    assert.equal(metric(text, 'source_record_write_total', tag), 199);
    assert.equal(metric(text, 'total_records_skipped', tag), 1);
    assert.equal(metric(text, 'deadletterqueue_produce_requests', tag), 1);
  });

  it('errors.tolerance=none: the chunk with the rejected record fails after its attempts, the job shows failed, nothing of that page is written', { timeout: 180000 }, async () => {
    const tag = uniqueName('jobrec-none');
    const topic = `${tag}-rows`;
    const w = await startWorker({
      workerConfig: { 'plugin.path': PLUGINS, 'jobs.attempts': 2, 'jobs.backoff.ms': 200 },
      connectors: [{ name: tag, config: chunkedConfig(topic, {}) }],
    });
    workers.push(w);
    await waitFor(async () => (await jobsOf(w, tag))[0]?.state === 'failed', { timeoutMs: 90000, intervalMs: 250, message: 'the job failed' });
    const [job] = await jobsOf(w, tag);
    assert.equal(job.chunks.done, 1);
    assert.equal(job.chunks.failed, 1);
    assert.match(job.error, /Tolerance exceeded.*VALUE_CONVERTER/);
    assert.match(w.logs(), /Chunk attempt failed|Running chunk/);
    // Chunk 0 complete (100 rows) and chunk 1's five pages before the poison one (rows 100..149), each once.
    const rows = await consume(topic, { count: 150, timeoutMs: 30000, settleMs: 1500 });
    assert.equal(rows.length, 150);
    const keys = new Set(rows.map((m) => m.key!.toString()));
    assert.equal(keys.size, 150);
    for (let n = 0; n < 150; n++) assert.ok(keys.has(`row-${n}`), `row-${n}`);
    assert.ok(await topicSize(topic) >= 150);
    const text = (await w.request('GET', '/metrics')).body as string;
    assert.equal(metric(text, 'source_record_write_total', tag), 150);
    assert.equal(metric(text, 'total_record_failures', tag), 2, 'one failure per attempt');
  });
});
