import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generate } from '@ferry/connectors/datagen';
import { drained, readLines, requireStack, startWorker, topicSize, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

describe('Datagen -> Kafka -> FileStreamSink', () => {
  let worker: WorkerHandle;
  before(async () => {
    await requireStack('kafka');
    worker = await startWorker({
      workerConfig: { 'value.converter': 'org.apache.kafka.connect.json.JsonConverter', 'value.converter.schemas.enable': 'false', 'offset.flush.interval.ms': 500 },
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
    await waitFor(() => drained(`connect-${topic}-sink`, topic), { timeoutMs: 60000, message: 'the sink committed the whole topic' });
    const lines = readLines(out);
    assert.equal(lines.length, 2 * perTask, 'no duplicates, nothing missing');
    const expected = new Set<string>();
    for (let task = 0; task < 2; task++) for (let i = 0; i < perTask; i++) expected.add(JSON.stringify(generate('orders', task, 2, i).value));
    assert.deepEqual(new Set(lines), expected);
    const status = await worker.request('GET', `/connectors/${topic}-src/status`);
    assert.equal(status.body.tasks.length, 2);
  });

  it('pausing a sink stops consumption; resuming continues from the same position', async () => {
    const topic = uniqueName('paused');
    const out = join(worker.dir, 'paused.jsonl');
    await worker.request('POST', '/connectors', {
      name: `${topic}-src`,
      config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', iterations: 3000, 'max.interval': 1 },
    });
    await worker.request('POST', '/connectors', { name: `${topic}-sink`, config: { 'connector.class': 'FileStreamSink', topics: topic, file: out } });
    await waitFor(() => readLines(out).length > 100, { message: 'sink started writing' });
    assert.equal((await worker.request('PUT', `/connectors/${topic}-sink/pause`)).status, 202);
    await waitFor(async () => (await worker.request('GET', `/connectors/${topic}-sink/status`)).body.tasks[0].state === 'PAUSED', { message: 'PAUSED' });
    // A batch handed over before the pause may still be written: wait until the file stops growing (three equal reads).
    let seen = -1;
    let same = 0;
    const atPause = await waitFor(
      () => {
        const n = readLines(out).length;
        same = n === seen ? same + 1 : 0;
        seen = n;
        return same >= 2 ? n : 0;
      },
      { intervalMs: 500, timeoutMs: 60000, message: 'the paused sink settles' },
    );
    // The source goes on: once it has written all 3000, the paused sink must still be where it settled.
    await waitFor(async () => (await topicSize(topic)) >= 3000, { timeoutMs: 60000, message: 'the source wrote every record' });
    assert.ok(atPause < 3000, `the sink paused before the end (${atPause} lines)`);
    assert.equal(readLines(out).length, atPause, 'nothing written while paused');
    assert.equal((await worker.request('PUT', `/connectors/${topic}-sink/resume`)).status, 202);
    await waitFor(() => readLines(out).length >= 3000, { timeoutMs: 60000, message: 'all records after resume' });
    await waitFor(() => drained(`connect-${topic}-sink`, topic), { timeoutMs: 60000, message: 'the sink committed the whole topic' });
    const lines = readLines(out);
    assert.equal(lines.length, 3000, 'no gap and no duplicate across pause/resume');
    assert.equal(new Set(lines).size, 3000);
  });
});
