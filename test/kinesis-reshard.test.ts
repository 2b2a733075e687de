import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { MergeShardsCommand, SplitShardCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import {
  RecordGen,
  checkPerKey,
  createStream,
  decode,
  deleteStream,
  kinesis,
  listShards,
  putTestRecords,
  waitActive,
} from '../packages/connectors/test/kinesis/helpers.js';
import { consume, createTopic, requireStack, startWorker, topicSize, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const ENDPOINT = process.env.KINESIS_ENDPOINT ?? 'http://127.0.0.1:4568';
const isOpen = (s: Shard): boolean => !s.SequenceNumberRange?.EndingSequenceNumber;
const startKey = (s: Shard): bigint => BigInt(s.HashKeyRange!.StartingHashKey!);
const openShards = async (c: KinesisClient, stream: string) =>
  (await listShards(c, stream)).filter(isOpen).sort((a, b) => (startKey(a) < startKey(b) ? -1 : 1));

let client: KinesisClient;
let worker: WorkerHandle | undefined;
const streams: string[] = [];
before(async () => {
  await requireStack('kafka', 'kinesis');
  client = kinesis();
});
after(async () => {
  await worker?.stop().catch(() => undefined);
  for (const s of streams) await deleteStream(client, s);
  client.destroy();
});

it('a real worker follows a split and a merge: the runtime reconfigures the tasks, every record reaches Kafka once, per key in order', async () => {
  const name = uniqueName('kin-reshard');
  const [stream, topic] = [`${name}-in`, `${name}-topic`];
  streams.push(stream);
  await Promise.all([createStream(client, stream, 2), createTopic(topic, 3)]);
  const gen = new RecordGen();
  await putTestRecords(client, stream, gen.make(600, 40));

  worker = await startWorker();
  const created = await worker.request('POST', '/connectors', {
    name,
    config: {
      'connector.class': 'KinesisSource',
      'kinesis.stream': stream,
      'kinesis.region': 'us-east-1',
      'kinesis.endpoint': ENDPOINT,
      'aws.access.key.id': 'test',
      'aws.secret.access.key': 'test',
      'kafka.topic': topic,
      'tasks.max': '2',
      'kinesis.empty.records.backoff.ms': '200',
      'kinesis.shard.discovery.interval.ms': '1000',
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'org.apache.kafka.connect.converters.ByteArrayConverter',
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await worker.waitForRunning(name);
  await waitFor(async () => (await topicSize(topic)) >= 600, { timeoutMs: 30_000, message: 'first records in Kafka' });

  // Split one shard, write, merge the two children, write again.
  const [s0] = await openShards(client, stream);
  const mid = (startKey(s0) + BigInt(s0.HashKeyRange!.EndingHashKey!)) / 2n;
  await client.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: s0.ShardId!, NewStartingHashKey: mid.toString() }));
  await waitActive(client, stream);
  await putTestRecords(client, stream, gen.make(600, 40));
  const open = await openShards(client, stream);
  await client.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: open[0].ShardId!, AdjacentShardToMerge: open[1].ShardId! }));
  await waitActive(client, stream);
  await putTestRecords(client, stream, gen.make(600, 40));

  await waitFor(async () => (await topicSize(topic)) >= 1800, { timeoutMs: 90_000, intervalMs: 500, message: '1800 records in Kafka' });
  const got = await consume(topic, { count: 1800, settleMs: 2000, timeoutMs: 30_000 });
  // consume() sorts by partition then offset, and a key always lands on the same partition.
  checkPerKey(got.map((m) => decode(m.value!)), gen.counts());
  assert.equal(got.length, 1800, 'no duplicates');
  const shardsRead = new Set(got.map((m) => String(m.headers['kinesis.shard.id'])));
  assert.equal(shardsRead.size, 5, 'two original shards, two children of the split, the merged shard');
  const status = await worker.request('GET', `/connectors/${name}/status`);
  assert.equal(status.body.connector.state, 'RUNNING');
});
