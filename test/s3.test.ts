import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { baseConfig, createBucket, dropBucket, jsonLines, listAll, S3_URL } from '../packages/connectors/test/s3/helpers.js';
import { consume, createTopic, produce, requireStack, startWorker, uniqueName, waitFor, type ConsumedMessage, type WorkerHandle } from './harness/index.js';

const BYTES = 'org.apache.kafka.connect.converters.ByteArrayConverter';

function sinkConfig(bucket: string, topic: string, dir: string, extra: Record<string, string> = {}) {
  return {
    ...baseConfig(bucket),
    'connector.class': 'S3Sink',
    topics: topic,
    'topics.dir': dir,
    'store.kafka.keys': 'true',
    'store.kafka.headers': 'true',
    'key.converter': BYTES,
    'value.converter': BYTES,
    'tasks.max': '2',
    ...extra,
  };
}

const view = (m: ConsumedMessage) => ({
  partition: m.partition,
  key: m.key?.toString('base64') ?? null,
  value: m.value?.toString('base64') ?? null,
  headers: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString() : String(v)])),
  timestamp: m.timestamp,
});

async function s3Records(bucket: string, prefix: string): Promise<Array<{ partition: number; offset: number }>> {
  const out: Array<{ partition: number; offset: number }> = [];
  for (const k of await listAll(bucket, prefix)) out.push(...((await jsonLines(bucket, k)) as Array<{ partition: number; offset: number }>));
  return out;
}

describe('S3 through a real worker and Kafka', { timeout: 240_000 }, () => {
  let bucket: string;
  const workers: WorkerHandle[] = [];
  before(async () => {
    await requireStack('kafka', 's3');
    bucket = await createBucket('ferry-e2e');
  });
  after(async () => {
    for (const w of workers) await w.stop().catch(() => undefined);
    await dropBucket(bucket);
  });

  it('topic -> S3Sink -> S3Source (restore) -> new topic is identical: keys, values, headers, partitions, order', async () => {
    const topic = uniqueName('s3-rt');
    await createTopic(topic, 3);
    const n = 300;
    await produce(
      topic,
      Array.from({ length: n }, (_, i) => ({
        partition: i % 3,
        key: i % 7 === 0 ? null : `key-${i}`,
        value: i % 11 === 0 ? null : Buffer.from(JSON.stringify({ i, note: 'ü'.repeat(i % 4) })),
        headers: { trace: `t-${i}`, ...(i % 2 ? { odd: 'yes' } : {}) },
        timestamp: String(1_700_000_000_000 + i),
      })),
    );
    const original = await consume(topic, { count: n });
    const dir = uniqueName('rt');
    const w = await startWorker({ connectors: [{ name: `${topic}-sink`, config: sinkConfig(bucket, topic, dir, { 'flush.size': '20' }) }] });
    workers.push(w);
    // 100 records per partition, 20 per file: 15 objects, all complete.
    await waitFor(async () => (await listAll(bucket, `${dir}/`)).length === 15, { timeoutMs: 60000, message: '15 objects in S3' }).catch(async (err) => {
      const status = await w.request('GET', `/connectors/${topic}-sink/status`);
      throw new Error(`${(err as Error).message}; objects: ${(await listAll(bucket, `${dir}/`)).length}; status: ${JSON.stringify(status.body)}`);
    });
    const restored = uniqueName('s3-restored');
    await createTopic(restored, 3);
    const created = await w.request('POST', '/connectors', {
      name: `${topic}-restore`,
      config: {
        ...baseConfig(bucket),
        'connector.class': 'S3Source',
        mode: 'restore',
        'topics.dir': dir,
        topics: topic,
        'topic.rename.format': restored,
        'key.converter': BYTES,
        'value.converter': BYTES,
        'tasks.max': '2',
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const copy = await consume(restored, { count: n, timeoutMs: 60000 });
    assert.equal(copy.length, n);
    assert.deepEqual(copy.map(view), original.map(view));
  });

  it('kill -9 mid-stream and restart: every record lands in S3 exactly once', async () => {
    const topic = uniqueName('s3-kill');
    await createTopic(topic, 2);
    const dir = uniqueName('kill');
    const msgs = (from: number, count: number) =>
      Array.from({ length: count }, (_, j) => ({ partition: (from + j) % 2, key: `k${from + j}`, value: JSON.stringify({ n: from + j }) }));
    await produce(topic, msgs(0, 200));
    const connectors = [{ name: `${topic}-sink`, config: sinkConfig(bucket, topic, dir, { 'flush.size': '25' }) }];
    const first = await startWorker({ connectors, workerConfig: { 'offset.flush.interval.ms': 2000 } });
    workers.push(first);
    await waitFor(async () => (await listAll(bucket, `${dir}/`)).length >= 3, { timeoutMs: 60000, message: 'some objects before the kill' });
    await produce(topic, msgs(200, 100));
    await first.kill();
    await produce(topic, msgs(300, 100));
    const second = await startWorker({ dir: first.dir, connectors });
    workers.push(second);
    // 200 per partition, 25 per file: 16 objects once everything is through.
    await waitFor(async () => (await listAll(bucket, `${dir}/`)).length === 16, { timeoutMs: 90000, message: '16 objects after the restart' });
    const recs = await s3Records(bucket, `${dir}/`);
    const ids = recs.map((r) => `${r.partition}:${r.offset}`);
    assert.equal(new Set(ids).size, ids.length, 'no record twice');
    assert.equal(ids.length, 400, 'no record missing');
    for (const p of [0, 1])
      assert.deepEqual(
        recs.filter((r) => r.partition === p).map((r) => r.offset).sort((a, b) => a - b),
        Array.from({ length: 200 }, (_, i) => i),
      );
    void S3_URL;
  });
});
