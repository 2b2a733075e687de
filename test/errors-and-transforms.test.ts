import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { consume, createTopic, drained, produce, readLines, requireStack, startWorker, topicSize, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const PLUGINS = fileURLToPath(new URL('./fixtures/test-plugins.ts', import.meta.url));
const header = (m: { headers: Record<string, unknown> }, k: string) => {
  const v = m.headers[`__connect.errors.${k}`];
  return v === undefined ? undefined : String(v);
};

describe('Transforms, error handling, dead-letter queues and secrets', () => {
  let w: WorkerHandle;
  before(async () => {
    await requireStack('kafka');
    w = await startWorker({
      workerConfig: {
        'plugin.path': PLUGINS,
        'value.converter.schemas.enable': 'false',
        'offset.flush.interval.ms': 500,
        'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
        'config.providers': 'env',
        'config.providers.env.class': 'org.apache.kafka.common.config.provider.EnvVarConfigProvider',
        'config.providers.env.param.allowlist.pattern': 'FLAKY_.*',
      },
      env: { FLAKY_SECRET: 'env-s3cr3t-value' },
    });
  });
  after(async () => w?.stop());

  it('applies a chain of Kafka Connect transforms with a negated predicate', async () => {
    const topic = uniqueName('tx');
    const out = join(w.dir, 'tx.jsonl');
    const r = await w.request('POST', '/connectors', {
      name: `${topic}-src`,
      config: {
        'connector.class': 'DatagenSource',
        'kafka.topic': `${topic}-raw`,
        quickstart: 'pageviews',
        iterations: '200',
        'max.interval': '0',
        transforms: 'route,stamp,drop',
        'transforms.route.type': 'org.apache.kafka.connect.transforms.RegexRouter',
        'transforms.route.regex': '(.*)-raw',
        'transforms.route.replacement': '$1-clean',
        'transforms.stamp.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
        'transforms.stamp.static.field': 'origin',
        'transforms.stamp.static.value': 'datagen',
        'transforms.drop.type': 'org.apache.kafka.connect.transforms.Filter',
        'transforms.drop.predicate': 'isOdd',
        'transforms.drop.negate': 'true',
        predicates: 'isOdd',
        'predicates.isOdd.type': 'org.apache.kafka.connect.transforms.predicates.TopicNameMatches',
        'predicates.isOdd.pattern': 'never-matches',
      },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    // Filter applies only when the predicate (negated) holds: every record matches "not never-matches", so all are dropped.
    assert.equal((await w.request('POST', '/connectors', { name: `${topic}-sink`, config: { 'connector.class': 'FileStreamSink', topics: `${topic}-clean`, file: out } })).status, 201);
    // Every record has been through the chain once the source's stored position reaches 200 (dropped records advance it too).
    await waitFor(
      async () => ((await w.request('GET', `/connectors/${topic}-src/offsets`)).body?.offsets ?? []).some((o: { offset: { position?: number } | null }) => (o.offset?.position ?? 0) >= 200),
      { message: 'the source to go through its 200 records', timeoutMs: 60000 },
    );
    assert.equal(await topicSize(`${topic}-clean`), 0, 'negated predicate made the filter drop everything: nothing written to Kafka');
    assert.equal(readLines(out).length, 0, 'negated predicate made the filter drop everything');
    // Replay from the start with the predicate no longer negated: nothing matches it, so nothing is dropped.
    assert.equal((await w.request('PUT', `/connectors/${topic}-src/stop`)).status, 204);
    assert.equal((await w.request('DELETE', `/connectors/${topic}-src/offsets`)).status, 200);
    assert.equal((await w.request('PATCH', `/connectors/${topic}-src/config`, { 'transforms.drop.negate': 'false' })).status, 200);
    assert.equal((await w.request('PUT', `/connectors/${topic}-src/resume`)).status, 202);
    await waitFor(() => readLines(out).length >= 200, { message: 'transformed records', timeoutMs: 30000 });
    const rows = readLines(out).map((l) => JSON.parse(l));
    assert.ok(rows.every((v) => v.origin === 'datagen' && typeof v.pageid === 'string'));
    const topics = (await w.request('GET', `/connectors/${topic}-src/topics`)).body[`${topic}-src`].topics;
    assert.deepEqual(topics, [`${topic}-clean`]);
  });

  it('reports invalid transform options in validate with the field named', async () => {
    const v = await w.request('PUT', '/connector-plugins/DatagenSource/config/validate', {
      name: 'x',
      'connector.class': 'DatagenSource',
      'kafka.topic': 't',
      transforms: 'bad,unknown',
      'transforms.bad.type': 'org.apache.kafka.connect.transforms.RegexRouter',
      'transforms.bad.regex': '(unclosed',
      'transforms.bad.replacement': 'x',
      'transforms.unknown.type': 'com.example.Nope',
    });
    const errs = Object.fromEntries(v.body.configs.map((c: { value: { name: string; errors: string[] } }) => [c.value.name, c.value.errors]));
    assert.ok(errs['transforms.bad.regex']?.length, JSON.stringify(errs));
    assert.ok(errs['transforms.unknown.type']?.length);
    const plugins = await w.request('GET', '/connector-plugins?connectorsOnly=false');
    const types = new Set(plugins.body.map((p: { type: string }) => p.type));
    assert.ok(types.has('transformation') && types.has('predicate'));
  });

  it('tolerance none: a poison record fails the task and offsets stay before it', async () => {
    const topic = uniqueName('poison-none');
    await createTopic(topic);
    await produce(topic, [{ value: '{"n":1}' }, { value: '{"n":2}' }, { value: 'not json' }, { value: '{"n":4}' }]);
    const out = join(w.dir, `${topic}.jsonl`);
    const name = `${topic}-sink`;
    await w.request('POST', '/connectors', {
      name,
      config: { 'connector.class': 'FileStreamSink', topics: topic, file: out, 'errors.task.restart.enable': 'false' },
    });
    await waitFor(async () => (await w.request('GET', `/connectors/${name}/status`)).body.tasks[0]?.state === 'FAILED', { message: 'FAILED' });
    const st = (await w.request('GET', `/connectors/${name}/status`)).body;
    assert.match(st.tasks[0].trace, /Tolerance exceeded/);
    assert.equal(readLines(out).length, 0, 'the batch holding the poison record was not written');
    await w.request('PUT', `/connectors/${name}/stop`);
    const offsets = (await w.request('GET', `/connectors/${name}/offsets`)).body.offsets;
    assert.ok(offsets.every((o: { offset: { kafka_offset: number } }) => o.offset.kafka_offset <= 2), JSON.stringify(offsets));
  });

  it('tolerance all + DLQ: converter, transform and sink rejections land in the DLQ with context headers; nothing lost', async () => {
    const topic = uniqueName('poison-all');
    const dlq = `${topic}-dlq`;
    await createTopic(topic);
    await produce(topic, [
      { key: 'k1', value: '{"n":1,"inner":{"x":1}}' },
      { key: 'k2', value: 'not json' },
      { key: 'k3', value: '{"n":3,"inner":"scalar"}' },
      { key: 'k4', value: '{"n":4,"reject":true,"inner":{"x":4}}' },
      { key: 'k5', value: '{"n":5,"inner":{"x":5}}' },
    ]);
    const out = join(w.dir, `${topic}.jsonl`);
    const name = `${topic}-sink`;
    const r = await w.request('POST', '/connectors', {
      name,
      config: {
        'connector.class': 'RejectingSink',
        topics: topic,
        file: out,
        transforms: 'flat',
        'transforms.flat.type': 'org.apache.kafka.connect.transforms.Flatten$Value',
        'errors.tolerance': 'all',
        'errors.log.enable': 'true',
        'errors.deadletterqueue.topic.name': dlq,
        'errors.deadletterqueue.context.headers.enable': 'true',
      },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await waitFor(() => readLines(out).length >= 3, { message: 'good records written' });
    const dead = await consume(dlq, { count: 2, timeoutMs: 30000 });
    await waitFor(() => drained(`connect-${name}`, topic), { timeoutMs: 60000, message: 'the sink committed the whole topic' });
    const good = readLines(out).map((l) => JSON.parse(l).n);
    assert.deepEqual(good.sort(), [1, 3, 5], 'Flatten handles a scalar "inner"; good records written exactly once');
    assert.equal(dead.length, 2);
    const conv = dead.find((m) => m.key?.toString() === 'k2')!;
    assert.equal(conv.value?.toString(), 'not json', 'the original bytes are kept');
    assert.equal(header(conv, 'topic'), topic);
    assert.equal(header(conv, 'partition'), '0');
    assert.equal(header(conv, 'offset'), '1');
    assert.equal(header(conv, 'stage'), 'VALUE_CONVERTER');
    assert.equal(header(conv, 'connector.name'), name);
    assert.equal(header(conv, 'task.id'), '0');
    assert.match(header(conv, 'class.name') ?? '', /JsonConverter/);
    assert.ok(header(conv, 'exception.message'));
    assert.ok(header(conv, 'exception.stacktrace'));
    const rejected = dead.find((m) => m.key?.toString() === 'k4')!;
    assert.equal(header(rejected, 'stage'), 'TASK_PUT');
    assert.match(header(rejected, 'exception.message') ?? '', /rejected by the target/);
    const st = (await w.request('GET', `/connectors/${name}/status`)).body;
    assert.equal(st.tasks[0].state, 'RUNNING');
    const metrics = (await w.request('GET', '/metrics')).body as string;
    assert.match(metrics, new RegExp(`ferry_deadletterqueue_produce_requests\\{connector="${name}",task="0"\\} 2`));
    assert.match(metrics, new RegExp(`ferry_total_records_skipped\\{connector="${name}",task="0"\\} 2`));
  });

  it('source dead-letter queue: records that fail conversion on the way in', async () => {
    const topic = uniqueName('src-dlq');
    const r = await w.request('POST', '/connectors', {
      name: topic,
      config: {
        'connector.class': 'DatagenSource',
        'kafka.topic': topic,
        iterations: '5',
        'max.interval': '0',
        'value.converter': 'org.apache.kafka.connect.converters.ByteArrayConverter',
        'errors.tolerance': 'all',
        'errors.deadletterqueue.topic.name': `${topic}-dlq`,
        'errors.deadletterqueue.context.headers.enable': 'true',
      },
    });
    assert.equal(r.status, 201);
    const dead = await consume(`${topic}-dlq`, { count: 5 });
    assert.equal(dead.length, 5);
    assert.equal(header(dead[0]!, 'stage'), 'VALUE_CONVERTER');
    assert.equal(header(dead[0]!, 'topic'), topic);
    assert.deepEqual(JSON.parse(header(dead[0]!, 'source.partition')!), { task: 0 });
    assert.equal(JSON.parse(dead[0]!.value!.toString()).seq, 0, 'the record is kept (as JSON)');
  });

  it('restarts a failed task automatically, keeps the trace, and never shows a password', async () => {
    const topic = uniqueName('flaky');
    const name = `${topic}-src`;
    const r = await w.request('POST', '/connectors', {
      name,
      config: {
        'connector.class': 'FlakySource',
        topic,
        'marker.file': join(w.dir, `${topic}.marker`),
        'api.password': '${env:FLAKY_SECRET}',
        'errors.task.restart.backoff.initial.ms': '200',
      },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await consume(topic, { count: 3, timeoutMs: 30000 });
    const st = (await w.request('GET', `/connectors/${name}/status`)).body;
    assert.equal(st.tasks[0].state, 'RUNNING');
    assert.match(st.tasks[0].trace, /transient failure/, 'the last failure stays visible');
    assert.ok(!JSON.stringify(st).includes('env-s3cr3t-value'), 'status trace is scrubbed');
    assert.match(st.tasks[0].trace, /\[hidden\]/);
    const metrics = (await w.request('GET', '/metrics')).body as string;
    assert.match(metrics, new RegExp(`ferry_task_restarts_total\\{connector="${name}",task="0"\\} 1`));

    const literal = `${topic}-literal`;
    await w.request('POST', '/connectors', {
      name: literal,
      config: { 'connector.class': 'FlakySource', topic, 'marker.file': join(w.dir, `${topic}.marker`), 'api.password': 'literal-pa55word' },
    });
    await w.waitForRunning(literal);
    for (const path of [`/connectors/${literal}`, `/connectors/${literal}/config`, `/connectors/${literal}/tasks`, `/connectors/${name}/tasks`, '/connectors?expand=info&expand=status']) {
      const body = JSON.stringify((await w.request('GET', path)).body);
      assert.ok(!body.includes('literal-pa55word') && !body.includes('env-s3cr3t-value'), path);
    }
    assert.equal((await w.request('GET', `/connectors/${literal}/config`)).body['api.password'], '[hidden]');
    // a GET-then-PUT round trip keeps the stored secret
    const cfg = (await w.request('GET', `/connectors/${literal}/config`)).body;
    assert.equal((await w.request('PUT', `/connectors/${literal}/config`, { ...cfg, 'tasks.max': '1' })).status, 200);
    const stored = JSON.parse(readFileSync(join(w.dir, 'data/connect.configs'), 'utf8'));
    assert.equal(stored.find((c: { name: string }) => c.name === literal).config['api.password'], 'literal-pa55word');
    assert.equal(stored.find((c: { name: string }) => c.name === name).config['api.password'], '${env:FLAKY_SECRET}', 'stored unresolved');
    const logs = w.logs() + readFileSync(join(w.dir, 'worker.log'), 'utf8');
    assert.ok(logs.includes('flaky task starting'));
    assert.ok(!logs.includes('literal-pa55word'), 'no literal password in logs');
    assert.ok(!logs.includes('env-s3cr3t-value'), 'no resolved secret in logs');
  });
});
