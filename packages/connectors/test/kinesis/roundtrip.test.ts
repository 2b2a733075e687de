import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { silentLogger, type SinkRecord } from '@ferry/core';
import { KinesisSinkTask } from '../../src/kinesis/index.js';
import {
  MemoryOffsets,
  RecordGen,
  SourceRunner,
  baseConfig,
  checkPerKey,
  createStream,
  decode,
  deleteStream,
  kinesis,
  requireKinesis,
  putTestRecords,
  readStream,
  uniqueName,
  waitFor,
} from './helpers.js';

let client: KinesisClient;
const streams: string[] = [];
before(async () => {
  await requireKinesis();
  client = kinesis();
});
after(async () => {
  for (const s of streams) await deleteStream(client, s);
  client.destroy();
});

test('Kinesis (4 shards) -> source tasks -> "Kafka" (3 partitions) -> sink task -> Kinesis (3 shards): same records, per-key order', async () => {
  const from = uniqueName('rt-in');
  const to = uniqueName('rt-out');
  streams.push(from, to);
  await Promise.all([createStream(client, from, 4), createStream(client, to, 3)]);
  const gen = new RecordGen();
  await putTestRecords(client, from, gen.make(2000, 97));

  const runner = new SourceRunner(
    { ...baseConfig(from), 'kafka.topic': 'bridge', 'kinesis.empty.records.backoff.ms': '100', 'kinesis.record.limit': '300' },
    new MemoryOffsets(),
    { maxTasks: 3 },
  );
  await runner.start();
  await waitFor('source caught up', () => runner.output.length >= 2000);
  await runner.stop();

  // The backbone: partition by key, offsets per partition, the source's key and value bytes as they are.
  const next = [0, 0, 0];
  const sinkRecords: SinkRecord[] = runner.output.map((r) => {
    const partition = Buffer.from(String(r.key)).reduce((h, b) => (h * 31 + b) % 1_000_003, 7) % 3;
    return { topic: 'bridge', kafkaPartition: partition, kafkaOffset: next[partition]++, key: r.key, value: r.value, timestamp: r.timestamp ?? null, headers: r.headers ?? [] };
  });

  const sink = new KinesisSinkTask();
  await sink.start(
    { ...baseConfig(to), topics: 'bridge' },
    { connectorName: 'rt', taskId: 0, logger: silentLogger, signal: new AbortController().signal, assignment: () => [], pause() {}, resume() {}, requestCommit() {}, offset() {} },
  );
  for (let i = 0; i < sinkRecords.length; i += 250) await sink.put(sinkRecords.slice(i, i + 250));
  const consumed = next.map((offset, partition) => ({ topic: 'bridge', partition, offset }));
  await sink.flush(consumed);
  assert.deepEqual(await sink.preCommit(consumed), consumed);
  await sink.stop();

  const back = await readStream(client, to);
  const records = [...back.values()].flat();
  assert.equal(records.length, 2000);
  checkPerKey(records.map((r) => decode(r.Data)), gen.counts());
  for (const r of records) assert.equal(r.PartitionKey, decode(r.Data).key, 'partition key kept');
  assert.ok([...back.values()].filter((recs) => recs.length > 0).length === 3, 'spread over every shard');
});
