import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { CuttableProxy, count, dropIndex, getDoc, http, reachable } from '../packages/connectors/test/elasticsearch/helpers.js';
import { BOOTSTRAP, consume, createTopic, produce, requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const ES = process.env.ES_URL ?? 'http://127.0.0.1:9200';
const OS = process.env.OS_URL ?? 'http://127.0.0.1:9201';
const converters = {
  'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
  'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
  'value.converter.schemas.enable': 'false',
};

function messages(from: number, n: number) {
  return Array.from({ length: n }, (_, j) => {
    const i = from + j;
    return { key: `order-${i}`, value: JSON.stringify({ id: i, customer: `c${i % 97}`, amount: i / 4 }) };
  });
}

/** Sum of the offsets the sink's consumer group committed on `topic`. */
async function committed(group: string, topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'ferry-test', brokers: [BOOTSTRAP], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return (t?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('Kafka -> worker -> Elasticsearch', () => {
  const workers: WorkerHandle[] = [];
  const indices: Array<{ url: string; index: string }> = [];

  before(async () => {
    await requireStack('kafka', 'elasticsearch');
  });
  after(async () => {
    for (const w of workers) await w.stop().catch(() => undefined);
    for (const i of indices) await dropIndex(i.url, i.index);
  });

  // Elasticsearch: kill -9 (replays what was not committed). OpenSearch: SIGTERM (the final commit
  // after a short flush); a second kill would cost another consumer session timeout.
  for (const target of [
    { label: 'Elasticsearch, kill -9', url: ES, prefix: 'es-orders', crash: true },
    { label: 'OpenSearch, clean stop', url: OS, prefix: 'os-orders', crash: false },
  ]) {
    it(`exact document count across a worker restart mid-stream (idempotent replay): ${target.label}`, async () => {
      const url = target.url;
      if (url === OS) assert.ok((await reachable(url))?.startsWith('opensearch'), `OpenSearch not reachable at ${url}: node scripts/stack.mjs up opensearch`);
      const topic = uniqueName(target.prefix);
      indices.push({ url, index: topic });
      await createTopic(topic, 3);
      await produce(topic, messages(0, 3000));
      const worker = await startWorker({ workerConfig: converters });
      workers.push(worker);
      const name = `${topic}-sink`;
      const config = {
        'connector.class': 'ElasticsearchSink',
        topics: topic,
        'connection.url': url,
        'tasks.max': '2',
        'batch.size': '200',
        'max.in.flight.requests': '2',
      };
      const created = await worker.request('PUT', `/connectors/${name}/config`, config);
      assert.ok([200, 201].includes(created.status), JSON.stringify(created.body));
      await waitFor(async () => (await count(url, topic)) >= 500, { timeoutMs: 60_000, message: 'first documents' });
      if (target.crash) await worker.kill(); // no final commit: records after the last commit are replayed
      else await worker.stop();
      await produce(topic, messages(3000, 3000));

      const again = await startWorker({ workerConfig: converters, dir: worker.dir });
      workers.push(again);
      await waitFor(async () => (await committed(`connect-${name}`, topic)) === 6000, { timeoutMs: 90_000, message: 'all offsets committed' });
      assert.equal(await count(url, topic), 6000);
      assert.deepEqual(await getDoc(url, topic, 'order-4242'), { id: 4242, customer: `c${4242 % 97}`, amount: 4242 / 4 });
      // A task shows RUNNING once its consumer has joined the group, which may come after another task consumed everything.
      await waitFor(
        async () => {
          const status = await again.request('GET', `/connectors/${name}/status`);
          return status.body.tasks?.length === 2 && status.body.tasks.every((t: { state: string }) => t.state === 'RUNNING');
        },
        { timeoutMs: 60_000, message: 'both tasks RUNNING after the restart' },
      );
      await again.request('DELETE', `/connectors/${name}`);
      await again.stop();
    });
  }

  it('keeps running while Elasticsearch is unreachable for 30 s, says so in its status, then catches up exactly', async () => {
    const topic = uniqueName('es-outage');
    indices.push({ url: ES, index: topic });
    await createTopic(topic, 2);
    const proxy = new CuttableProxy(new URL(ES));
    await proxy.open();
    try {
      const worker = await startWorker({ workerConfig: converters });
      workers.push(worker);
      const name = `${topic}-sink`;
      const r = await worker.request('PUT', `/connectors/${name}/config`, {
        'connector.class': 'ElasticsearchSink',
        topics: topic,
        'connection.url': proxy.url,
        'max.retries': '2',
        'retry.backoff.ms': '50',
        'read.timeout.ms': '3000',
      });
      assert.ok([200, 201].includes(r.status), JSON.stringify(r.body));
      await produce(topic, messages(0, 1000));
      await waitFor(async () => (await count(ES, topic)) === 1000, { timeoutMs: 60_000, message: '1000 documents' });

      await proxy.cut();
      const cutAt = Date.now();
      // Records keep coming during the outage until the task's status says what it waits for.
      let produced = 1000;
      const waiting = await waitFor(
        async () => {
          await produce(topic, messages(produced, 100));
          produced += 100;
          const s = await worker.request('GET', `/connectors/${name}/status`);
          const t = s.body.tasks?.[0];
          return t?.state === 'RUNNING' && /unreachable/i.test(t.message ?? '') ? t : null;
        },
        { timeoutMs: 30_000, intervalMs: 300, message: 'status showing Elasticsearch unreachable' },
      );
      assert.match(waiting.message, /ECONNREFUSED/);
      assert.ok((await committed(`connect-${name}`, topic)) <= (await count(ES, topic)), 'nothing committed past the written documents');
      // ... and for the rest of a 30 s outage.
      while (Date.now() - cutAt < 30_000) {
        await produce(topic, messages(produced, 100));
        produced += 100;
        await new Promise((r) => setTimeout(r, 1000));
      }
      assert.equal((await worker.request('GET', `/connectors/${name}/status`)).body.tasks[0].state, 'RUNNING', 'the task is still running after 30 s');
      await produce(topic, messages(produced, 500));
      produced += 500;
      await proxy.open();

      await waitFor(async () => (await count(ES, topic)) === produced, { timeoutMs: 60_000, message: `${produced} documents after recovery` });
      await waitFor(async () => (await committed(`connect-${name}`, topic)) === produced, { timeoutMs: 30_000, message: 'offsets committed' });
      await waitFor(
        async () => {
          const s = await worker.request('GET', `/connectors/${name}/status`);
          return s.body.tasks?.[0]?.state === 'RUNNING' && !s.body.tasks[0].message;
        },
        { timeoutMs: 30_000, message: 'status back to plain RUNNING' },
      );
      assert.equal(await count(ES, topic), produced);
      await worker.request('DELETE', `/connectors/${name}`);
    } finally {
      await proxy.close();
    }
  });

  it('malformed documents go to the dead-letter queue with errors.tolerance=all', async () => {
    const topic = uniqueName('es-mal');
    indices.push({ url: ES, index: topic });
    await createTopic(topic, 1);
    const m = await http(ES, 'PUT', `/${topic}`, { mappings: { properties: { n: { type: 'long' } } } });
    assert.equal(m.status, 200, JSON.stringify(m.body));
    const worker = await startWorker({ workerConfig: converters });
    workers.push(worker);
    const name = `${topic}-sink`;
    const dlq = `${topic}-dlq`;
    const r = await worker.request('PUT', `/connectors/${name}/config`, {
      'connector.class': 'ElasticsearchSink',
      topics: topic,
      'connection.url': ES,
      'behavior.on.malformed.documents': 'fail',
      'errors.tolerance': 'all',
      'errors.deadletterqueue.topic.name': dlq,
      'errors.deadletterqueue.context.headers.enable': 'true',
    });
    assert.ok([200, 201].includes(r.status), JSON.stringify(r.body));
    await produce(topic, [
      ...Array.from({ length: 5 }, (_, i) => ({ key: `g${i}`, value: JSON.stringify({ n: i }) })),
      { key: 'bad', value: JSON.stringify({ n: 'abc' }) },
      ...Array.from({ length: 5 }, (_, i) => ({ key: `h${i}`, value: JSON.stringify({ n: 10 + i }) })),
    ]);
    await waitFor(async () => (await count(ES, topic)) === 10, { timeoutMs: 60_000, message: '10 good documents' });
    const dead = await consume(dlq, { count: 1, timeoutMs: 30_000 });
    assert.equal(dead.length, 1);
    const header = (k: string) => dead[0]!.headers[`__connect.errors.${k}`]?.toString();
    assert.equal(header('topic'), topic);
    assert.deepEqual(JSON.parse(dead[0]!.value!.toString()), { n: 'abc' });
    assert.match(header('exception.message') ?? '', /rejected the document/);
    const status = await worker.request('GET', `/connectors/${name}/status`);
    assert.equal(status.body.tasks[0].state, 'RUNNING');
    await worker.request('DELETE', `/connectors/${name}`);
  });

  it('config/validate names the invalid fields', async () => {
    const worker = await startWorker({ workerConfig: converters });
    workers.push(worker);
    const r = await worker.request('PUT', '/connector-plugins/ElasticsearchSink/config/validate', {
      name: 'es-validate',
      'connector.class': 'ElasticsearchSink',
      topics: 'x',
      'connection.url': ES,
      'write.method': 'merge',
      'batch.size': '0',
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.error_count, 2, JSON.stringify(r.body));
    const errorsOf = (n: string) => r.body.configs.find((c: { value: { name: string } }) => c.value.name === n)?.value.errors ?? [];
    assert.ok(errorsOf('write.method').length === 1 && errorsOf('batch.size').length === 1);
    const down = await worker.request('PUT', '/connector-plugins/ElasticsearchSink/config/validate', {
      name: 'es-validate',
      'connector.class': 'ElasticsearchSink',
      topics: 'x',
      'connection.url': 'http://127.0.0.1:1',
    });
    const urlErrors = down.body.configs.find((c: { value: { name: string } }) => c.value.name === 'connection.url')?.value.errors ?? [];
    assert.match(urlErrors.join(' '), /cannot connect/);
  });
});
