import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generate } from '@ferry/connectors/datagen';
import { readLines, requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

describe('Datagen -> Kafka -> FileStreamSink', () => {
  let worker: WorkerHandle;
  before(async () => {
    await requireStack('kafka');
    worker = await startWorker({
      workerConfig: { 'value.converter': 'org.apache.kafka.connect.json.JsonConverter', 'value.converter.schemas.enable': 'false' },
    });
  });
  after(async () => worker?.stop());

  it('delivers exactly the generated records, across two tasks', async () => {
    const topic = uniqueName('orders');
    const out = join(worker.dir, 'orders.jsonl');
    const perTask = 1500;
    const src = await worker.request('POST', '/connectors', {
      name: `${topic}-src`,
      config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', iterations: perTask, 'max.interval': 0, 'tasks.max': 2 },
    });
    assert.equal(src.status, 201, JSON.stringify(src.body));
    const sink = await worker.request('POST', '/connectors', {
      name: `${topic}-sink`,
      config: { 'connector.class': 'FileStreamSink', topics: topic, file: out },
    });
    assert.equal(sink.status, 201, JSON.stringify(sink.body));
    await waitFor(() => readLines(out).length >= 2 * perTask, { timeoutMs: 60000, message: `${2 * perTask} lines in ${out}` });
    await new Promise((r) => setTimeout(r, 1000));
    const lines = readLines(out);
    assert.equal(lines.length, 2 * perTask, 'no duplicates, nothing missing');
    const expected = new Set<string>();
    for (let task = 0; task < 2; task++) for (let i = 0; i < perTask; i++) expected.add(JSON.stringify(generate('orders', task, 2, i).value));
    assert.deepEqual(new Set(lines), expected);
    const status = await worker.request('GET', `/connectors/${topic}-src/status`);
    assert.equal(status.body.tasks.length, 2);
  });
});
