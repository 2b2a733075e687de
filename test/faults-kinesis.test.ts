/**
 * Fault suite, Kinesis: the emulator under a KinesisSource and a KinesisSink
 * is killed and restarted mid-stream (a private instance on its own port,
 * its data on disk). Nothing is lost, per-key order holds, duplicates stay
 * bounded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { RecordGen, checkPerKey, createStream, decode, putTestRecords, readStream, type TestRecord } from '../packages/connectors/test/kinesis/helpers.js';
import { createTopic, requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';
import { startPrivateKinesis, type PrivateKinesis } from './harness/private-kinesis.js';

describe('Kinesis emulator restarted under a source and a sink', () => {
  let emu: PrivateKinesis;
  let client: KinesisClient;
  let w: WorkerHandle | undefined;
  before(async () => {
    await requireStack('kafka');
    emu = await startPrivateKinesis({ port: Number(process.env.FERRY_FAULT_KINESIS_PORT ?? 14568) });
    client = new KinesisClient({
      region: 'us-east-1',
      endpoint: emu.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 10000 }),
      maxAttempts: 10,
    });
  });
  after(async () => {
    await w?.stop().catch(() => undefined);
    client?.destroy();
    await emu?.destroy();
  });

  it('killed (-9) and restarted: every record arrives, in per-key order, duplicates bounded', async () => {
    const name = uniqueName('kin-fault');
    const [from, to, topic] = [`${name}-in`, `${name}-out`, `${name}-topic`];
    await Promise.all([createStream(client, from, 2), createStream(client, to, 2), createTopic(topic, 2)]);
    const gen = new RecordGen();
    await putTestRecords(client, from, gen.make(1500, 31));
    const common = {
      'kinesis.region': 'us-east-1',
      'kinesis.endpoint': emu.endpoint,
      'aws.access.key.id': 'test',
      'aws.secret.access.key': 'test',
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'org.apache.kafka.connect.converters.ByteArrayConverter',
    };
    w = await startWorker({ workerConfig: { 'offset.flush.interval.ms': 500 } });
    const src = { name: `${name}-src`, config: { ...common, 'connector.class': 'KinesisSource', 'kinesis.stream': from, 'kafka.topic': topic, 'kinesis.record.limit': '50', 'kinesis.empty.records.backoff.ms': '200', 'errors.retry.timeout': '-1' } };
    const sink = { name: `${name}-sink`, config: { ...common, 'connector.class': 'KinesisSink', 'kinesis.stream': to, topics: topic, 'linger.ms': '50', 'errors.retry.timeout': '-1' } };
    for (const c of [src, sink]) assert.equal((await w.request('POST', '/connectors', c)).status, 201);
    const out = async (): Promise<TestRecord[]> => [...(await readStream(client, to)).values()].flat().map((r) => decode(r.Data));
    const distinct = (rs: TestRecord[]) => new Set(rs.map((r) => `${r.key}#${r.n}`)).size;
    await waitFor(async () => distinct(await out()) >= 300, { timeoutMs: 120_000, intervalMs: 500, message: 'records flowing to the target stream' });

    await emu.stop('SIGKILL');
    const seen = await waitFor(
      async () => {
        for (const n of [src.name, sink.name]) {
          const t = (await w!.request('GET', `/connectors/${n}/status`)).body.tasks?.[0];
          if (t?.message || (t && t.state !== 'RUNNING')) return `${n}: ${t.state} ${String(t.message ?? t.trace ?? '').slice(0, 160)}`;
        }
        return null;
      },
      { timeoutMs: 30_000, message: 'the outage in a task status' },
    ).catch(() => 'not seen');
    await emu.start();
    await putTestRecords(client, from, gen.make(1500, 31));

    await waitFor(async () => distinct(await out()) >= 3000, { timeoutMs: 240_000, intervalMs: 1000, message: 'all 3000 records in the target stream' });
    const delivered = await out();
    const dups = checkPerKey(delivered, gen.counts(), { allowDuplicates: true });
    console.log(`kinesis emulator kill -9: ${delivered.length} delivered for 3000, ${dups} duplicates; outage status: ${seen}`);
    assert.ok(dups < 1500, `duplicates bounded: ${dups}`);
    for (const n of [src.name, sink.name]) {
      await waitFor(async () => (await w!.request('GET', `/connectors/${n}/status`)).body.tasks?.[0]?.state === 'RUNNING', { message: `${n} RUNNING` });
    }
  });
});
