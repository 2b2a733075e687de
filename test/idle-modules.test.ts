/**
 * A worker loads a connector's client library only when a connector of that
 * plugin starts (or validates against its server): listing plugins, reading
 * their config definitions and static validation use the plugins'
 * declarations alone, and the worker's own optional clients (bullmq for
 * jobs.redis.url, the AWS SDK for backbone=kinesis, kafkajs for
 * kafka.client=kafkajs) stay unloaded unless configured. Every one of them
 * costs resident memory in every worker.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { requireStack, startWorker, type WorkerHandle } from './harness/index.js';

const HOOK = resolve(fileURLToPath(new URL('.', import.meta.url)), 'fixtures/record-loaded-modules.mjs');

/** Client libraries an idle worker must not load, by package folder under node_modules. */
const HEAVY = /\/node_modules\/(pg|pg-[^/]+|@aws-sdk\/[^/]+|@smithy\/[^/]+|@elastic\/[^/]+|@opensearch-project\/[^/]+|bullmq|ioredis|kafkajs|hyparquet[^/]*|hysnappy)\//;

function packagesIn(list: string[], re: RegExp): string[] {
  return [...new Set(list.map((u) => re.exec(u)?.[1]).filter((x): x is string => !!x))].sort();
}

describe('an idle worker', () => {
  let worker: WorkerHandle;
  let loaded: string[] = [];

  before(async () => {
    await requireStack('kafka');
    const file = join(process.env.TMPDIR ?? '/tmp', `ferry-loaded-${process.pid}-${Date.now()}.txt`);
    worker = await startWorker({ env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${HOOK}`.trim(), LOADED_MODULES_FILE: file } });
    // What a console or a CLI asks of every plugin: the list, each config definition, a static validation.
    const plugins = (await worker.request<Array<{ class: string }>>('GET', '/connector-plugins')).body;
    assert.ok(plugins.some((p) => p.class === 'PostgresCdcSource') && plugins.some((p) => p.class === 'S3Sink'), JSON.stringify(plugins));
    for (const p of plugins) assert.equal((await worker.request('GET', `/connector-plugins/${p.class}/config`)).status, 200, p.class);
    for (const cls of ['PostgresSink', 'S3Sink', 'ElasticsearchSink', 'KinesisSource', 'BullMqSink']) {
      const r = await worker.request<{ error_count: number }>('PUT', `/connector-plugins/${cls}/config/validate`, { 'connector.class': cls, topics: 't', 'tasks.max': '0' });
      assert.equal(r.status, 200, cls);
      assert.ok(r.body.error_count > 0, `${cls}: ${JSON.stringify(r.body)}`);
    }
    await worker.stop();
    loaded = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  });

  after(async () => {
    await worker?.stop();
  });

  it('records what it loads (the Kafka client it runs on is there)', () => {
    assert.deepEqual(packagesIn(loaded, /\/node_modules\/(@platformatic\/kafka)\//), ['@platformatic/kafka']);
  });

  it('loads no connector client library and no optional client of its own', () => {
    assert.deepEqual(packagesIn(loaded, HEAVY), []);
  });
});
