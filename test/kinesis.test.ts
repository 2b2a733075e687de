import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { Kafka, logLevel } from 'kafkajs';
import {
  RecordGen,
  checkPerKey,
  createStream,
  decode,
  deleteStream,
  kinesis,
  putTestRecords,
  readStream,
  type TestRecord,
} from '../packages/connectors/test/kinesis/helpers.js';
import { BOOTSTRAP, consume, createTopic, drained, requireStack, startWorker, topicSize, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const ENDPOINT = process.env.KINESIS_ENDPOINT ?? 'http://127.0.0.1:4568';
const common = {
  'kinesis.region': 'us-east-1',
  'kinesis.endpoint': ENDPOINT,
  'aws.access.key.id': 'test',
  'aws.secret.access.key': 'test',
  'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
  'value.converter': 'org.apache.kafka.connect.converters.ByteArrayConverter',
};

function connectors(name: string, from: string, topic: string, to: string): Record<'source' | 'sink', { name: string; config: Record<string, string> }> {
  return {
    source: {
      name: `${name}-src`,
      config: {
        ...common,
        'connector.class': 'KinesisSource',
        'kinesis.stream': from,
        'kafka.topic': topic,
        'tasks.max': '2',
        'kinesis.empty.records.backoff.ms': '200',
        'kinesis.throughput.exceeded.backoff.ms': '500',
      },
    },
    sink: {
      name: `${name}-sink`,
      config: { ...common, 'connector.class': 'KinesisSink', 'kinesis.stream': to, topics: topic, 'linger.ms': '50' },
    },
  };
}

async function outRecords(client: KinesisClient, stream: string): Promise<TestRecord[]> {
  return [...(await readStream(client, stream)).values()].flat().map((r) => decode(r.Data));
}

function distinct(records: TestRecord[]): number {
  return new Set(records.map((r) => `${r.key}#${r.n}`)).size;
}

describe('Kinesis -> Kafka -> Kinesis through a real worker', () => {
  let client: KinesisClient;
  const streams: string[] = [];
  const workers: WorkerHandle[] = [];

  before(async () => {
    await requireStack('kafka', 'kinesis');
    client = kinesis();
  });
  after(async () => {
    for (const w of workers) await w.stop().catch(() => undefined);
    for (const s of streams) await deleteStream(client, s);
    client.destroy();
  });

  it('round trip across shards: same records, per-key order, headers on the Kafka side', async () => {
    const name = uniqueName('kin-rt');
    const [from, to, topic] = [`${name}-in`, `${name}-out`, `${name}-topic`];
    streams.push(from, to);
    await Promise.all([createStream(client, from, 3), createStream(client, to, 2), createTopic(topic, 3)]);
    const gen = new RecordGen();
    await putTestRecords(client, from, gen.make(2000, 71));

    const c = connectors(name, from, topic, to);
    const worker = await startWorker();
    workers.push(worker);
    for (const conn of [c.source, c.sink]) {
      const r = await worker.request('POST', '/connectors', conn);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    await worker.waitForRunning(c.source.name);
    await worker.waitForRunning(c.sink.name);

    await waitFor(async () => distinct(await outRecords(client, to)) >= 2000, { timeoutMs: 90_000, intervalMs: 1000, message: '2000 records in the target stream' });
    const out = await outRecords(client, to);
    checkPerKey(out, gen.counts());
    assert.equal(out.length, 2000, 'no duplicates on a clean run');

    const inKafka = await consume(topic, { count: 2000, timeoutMs: 30_000 });
    const m = inKafka[0];
    assert.equal(m.key?.toString(), decode(m.value!).key, 'key = partition key');
    assert.match(String(m.headers['kinesis.shard.id']), /shardId-/);
    assert.ok(m.headers['kinesis.sequence.number']);
    assert.ok(m.headers['kinesis.approximate.arrival.timestamp']);

    const status = await worker.request('GET', `/connectors/${c.source.name}/status`);
    assert.equal(status.body.tasks.length, 2, 'three shards over two tasks');
    await worker.stop();
  });

  it('kill -9 of the worker mid-stream, then restart: nothing lost, duplicates bounded by what was not committed', async () => {
    const name = uniqueName('kin-kill');
    const [from, to, topic] = [`${name}-in`, `${name}-out`, `${name}-topic`];
    streams.push(from, to);
    await Promise.all([createStream(client, from, 3), createStream(client, to, 3), createTopic(topic, 3)]);
    const gen = new RecordGen();
    await putTestRecords(client, from, gen.make(3000, 53));

    const c = connectors(name, from, topic, to);
    c.source.config['kinesis.record.limit'] = '100'; // slower, so the crash lands mid-stream
    const worker = await startWorker({ connectors: [c.source, c.sink] });
    workers.push(worker);
    await worker.waitForRunning(c.source.name);
    const offsetsFile = join(worker.dir, 'data/connect.offsets');
    await waitFor(async () => existsSync(offsetsFile) && (await topicSize(topic)) >= 1000, { timeoutMs: 60_000, message: 'records flowing' });
    await worker.kill();

    // What was durable at the moment of the crash.
    const stored = JSON.parse(readFileSync(offsetsFile, 'utf8'))[c.source.name] as Array<{
      partition: { shard: string };
      offset: { seq: string };
    }>;
    const storedSeq = new Map((stored ?? []).map((e) => [e.partition.shard, BigInt(e.offset.seq)]));
    const beforeRestart = await consume(topic, { settleMs: 1500, timeoutMs: 30_000 });
    const unstoredSource = beforeRestart.filter((m) => {
      const s = storedSeq.get(String(m.headers['kinesis.shard.id']));
      return s === undefined || BigInt(String(m.headers['kinesis.sequence.number'])) > s;
    }).length;
    const kafka = new Kafka({ clientId: 'kinesis-test', brokers: [BOOTSTRAP], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const [group] = await admin.fetchOffsets({ groupId: `connect-${c.sink.name}`, topics: [topic] });
    await admin.disconnect();
    const committed = new Map(group.partitions.map((p) => [p.partition, Math.max(0, Number(p.offset))]));
    const uncommittedSink = beforeRestart.filter((m) => m.offset >= (committed.get(m.partition) ?? 0)).length;

    // More data while the worker is down, then the same worker folder again.
    await putTestRecords(client, from, gen.make(600, 53));
    const again = await startWorker({ dir: worker.dir });
    workers.push(again);
    await again.waitForRunning(c.source.name);
    await waitFor(async () => distinct(await outRecords(client, to)) >= 3600, { timeoutMs: 120_000, intervalMs: 1000, message: '3600 distinct records' });
    await waitFor(() => drained(`connect-${c.sink.name}`, topic), { timeoutMs: 60_000, message: 'the sink committed the whole topic' });

    const inKafka = await consume(topic, { settleMs: 1500, timeoutMs: 30_000 });
    const kafkaDups = inKafka.length - new Set(inKafka.map((m) => m.value!.toString())).size;
    assert.ok(kafkaDups <= unstoredSource, `Kafka duplicates ${kafkaDups} <= records whose source offsets were not stored ${unstoredSource}`);

    const out = await outRecords(client, to);
    const dups = checkPerKey(out, gen.counts(), { allowDuplicates: true });
    assert.ok(
      dups <= unstoredSource + uncommittedSink,
      `target duplicates ${dups} <= source replay ${unstoredSource} + sink replay ${uncommittedSink}`,
    );
    assert.ok(unstoredSource + uncommittedSink < 3000, 'the crash did not replay everything');
    await again.stop();
  });
});
