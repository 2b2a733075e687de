import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ProvisionedThroughputExceededException, type KinesisClient, type PutRecordsRequestEntry, type PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import { DataError, silentLogger, type SinkRecord, type SinkTaskContext, type TopicPartitionOffset } from '@ferry/core';
import { KinesisSink, KinesisSinkTask, type KinesisSinkTaskOptions } from '../../src/kinesis/index.js';
import {
  RecordGen,
  baseConfig,
  checkPerKey,
  countsOf,
  createStream,
  decode,
  deleteStream,
  kinesis,
  requireKinesis,
  listShards,
  readStream,
  uniqueName,
  waitFor,
  type TestRecord,
} from './helpers.js';

const PARTITIONS = 3;

function partitionOf(key: string): number {
  let h = 0;
  for (const c of key) h = (h * 31 + c.charCodeAt(0)) | 0;
  return Math.abs(h) % PARTITIONS;
}

/** Kafka-side view of test records: partition by key, offsets counting per partition. */
class TopicSim {
  private next = new Map<number, number>();
  constructor(readonly topic = 'orders') {}
  toSink(records: TestRecord[]): SinkRecord[] {
    return records.map((r) => {
      const partition = partitionOf(r.key);
      const offset = this.next.get(partition) ?? 0;
      this.next.set(partition, offset + 1);
      return { topic: this.topic, kafkaPartition: partition, kafkaOffset: offset, key: r.key, value: Buffer.from(JSON.stringify(r)) };
    });
  }
  consumed(): TopicPartitionOffset[] {
    return [...this.next].map(([partition, offset]) => ({ topic: this.topic, partition, offset }));
  }
}

function sinkContext(reporter?: SinkTaskContext['errantRecordReporter']): SinkTaskContext {
  return {
    connectorName: 'kinesis-sink-test',
    taskId: 0,
    logger: silentLogger,
    signal: new AbortController().signal,
    assignment: () => [],
    pause() {},
    resume() {},
    requestCommit() {},
    offset() {},
    ...(reporter ? { errantRecordReporter: reporter } : {}),
  };
}

async function startSink(stream: string, extra: Record<string, string> = {}, options: KinesisSinkTaskOptions = {}, reporter?: SinkTaskContext['errantRecordReporter']) {
  const task = new KinesisSinkTask(options);
  await task.start({ ...baseConfig(stream), topics: 'orders', 'linger.ms': '20', ...extra }, sinkContext(reporter));
  return task;
}

function delivered(byShard: Map<string, { Data?: Uint8Array }[]>): TestRecord[] {
  return [...byShard.values()].flatMap((recs) => recs.map((r) => decode(r.Data)));
}

describe('KinesisSink config', () => {
  test('defaults and limits', async () => {
    const cfg = KinesisSink.config.parse({ 'kinesis.stream': 's' });
    assert.equal(cfg['batch.size'], 500);
    assert.equal(cfg['behavior.on.null.values'], 'ignore');
    assert.ok(KinesisSink.config.validate({ 'kinesis.stream': 's', 'batch.size': '501' }).errors['batch.size']);
    assert.ok(KinesisSink.config.validate({ 'kinesis.stream': 's', 'retry.backoff.ms': '500', 'retry.backoff.max.ms': '100' }).errors['retry.backoff.max.ms']);
    const conn = await KinesisSink.create();
    conn.start({ 'kinesis.stream': 's', topics: 'a' }, { connectorName: 'c', logger: silentLogger, signal: new AbortController().signal, requestTaskReconfiguration() {}, raiseError() {} });
    const tasks = conn.taskConfigs(3) as Record<string, string>[];
    assert.equal(tasks.length, 3);
    assert.equal(tasks[2]['kinesis.stream'], 's');
  });
});

describe('KinesisSink against the emulator', () => {
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
  async function stream(shards: number): Promise<string> {
    const name = uniqueName('sink');
    streams.push(name);
    await createStream(client, name, shards);
    return name;
  }

  test('writes every record with per-key order; flush and preCommit cover everything put', async () => {
    const name = await stream(3);
    const gen = new RecordGen();
    const sim = new TopicSim();
    const task = await startSink(name, { 'batch.size': '200' });
    for (let i = 0; i < 6; i++) await task.put(sim.toSink(gen.make(300, 60)));
    await task.flush(sim.consumed());
    assert.deepEqual(await task.preCommit(sim.consumed()), sim.consumed());
    const m = task.metrics();
    await task.stop();
    assert.equal(m.recordsSent, 1800);
    assert.equal(m.buffered, 0);
    const back = await readStream(client, name);
    checkPerKey(delivered(back), gen.counts());
    // Same key, same shard: the record key is the partition key.
    for (const recs of back.values()) for (const r of recs) assert.equal(r.PartitionKey, decode(r.Data).key);
  });

  test('value encodings and partition keys: bytes, string, JSON object, null key, value field, explicit hash key', async () => {
    const name = await stream(2);
    const shards = await listShards(client, name);
    const task = await startSink(name);
    const base = { topic: 'orders', kafkaPartition: 2 };
    await task.put([
      { ...base, kafkaOffset: 0, key: 'b', value: Buffer.from([0, 1, 2, 255]) },
      { ...base, kafkaOffset: 1, key: 's', value: 'héllo' },
      { ...base, kafkaOffset: 2, key: 'o', value: { id: 7, price: '12.30', tags: ['a'], big: 2n ** 60n } },
      { ...base, kafkaOffset: 3, key: null, value: 'no key' },
      { ...base, kafkaOffset: 4, key: Buffer.from('bytes-key'), value: 'bytes key' },
    ]);
    await task.flush([]);
    await task.stop();
    const all = [...(await readStream(client, name)).values()].flat();
    const byKey = new Map(all.map((r) => [r.PartitionKey!, Buffer.from(r.Data!)]));
    assert.deepEqual([...byKey.get('b')!], [0, 1, 2, 255]);
    assert.equal(byKey.get('s')!.toString(), 'héllo');
    assert.deepEqual(JSON.parse(byKey.get('o')!.toString()), { id: 7, price: '12.30', tags: ['a'], big: String(2n ** 60n) });
    assert.equal(byKey.get('2')!.toString(), 'no key', 'null key: the Kafka partition number');
    assert.equal(byKey.get('bytes-key')!.toString(), 'bytes key');

    // Partition key from a value field, explicit hash key choosing the shard.
    const name2 = await stream(2);
    const t2 = await startSink(name2, { 'kinesis.partition.key.field': 'customer.id', 'kinesis.explicit.hash.key.field': 'h' });
    const max = ((1n << 128n) - 1n).toString();
    await t2.put([
      { ...base, kafkaOffset: 0, key: 'ignored', value: { customer: { id: 'c-1' }, h: '0' } },
      { ...base, kafkaOffset: 1, key: 'ignored', value: { customer: { id: 'c-2' }, h: max } },
    ]);
    await t2.flush([]);
    await t2.stop();
    const back = await readStream(client, name2);
    const sorted = shards.map((s) => s.ShardId!).sort();
    assert.deepEqual(back.get(sorted[0])!.map((r) => r.PartitionKey), ['c-1']);
    assert.deepEqual(back.get(sorted[1])!.map((r) => r.PartitionKey), ['c-2']);
  });

  test('bad records follow the error policy: reporter when present, DataError otherwise; offsets move past reported ones', async () => {
    const name = await stream(1);
    const reported: Array<{ offset: number; err: Error }> = [];
    const reporter = {
      report: async (r: SinkRecord, err: Error) => {
        reported.push({ offset: r.kafkaOffset, err });
      },
    };
    const task = await startSink(name, { 'kinesis.partition.key.field': 'id', 'behavior.on.null.values': 'fail' }, {}, reporter);
    const base = { topic: 'orders', kafkaPartition: 0, key: 'k' };
    await task.put([
      { ...base, kafkaOffset: 0, value: { id: 'a', v: 1 } },
      { ...base, kafkaOffset: 1, value: { id: 'a', blob: 'x'.repeat(1024 * 1024) } },
      { ...base, kafkaOffset: 2, value: { v: 'no id' } },
      { ...base, kafkaOffset: 3, value: null },
      { ...base, kafkaOffset: 4, value: { id: 'a', v: 2 } },
    ]);
    await task.flush([]);
    assert.deepEqual(await task.preCommit([{ topic: 'orders', partition: 0, offset: 5 }]), [{ topic: 'orders', partition: 0, offset: 5 }]);
    await task.stop();
    assert.deepEqual(reported.map((r) => r.offset), [1, 2, 3]);
    assert.ok(reported.every((r) => r.err instanceof DataError));
    assert.match(reported[0].err.message, /orders\/0@1 is \d+ bytes/);
    const back = delivered(await readStream(client, name));
    assert.equal(back.length, 2);

    const strict = await startSink(name);
    await assert.rejects(
      strict.put([{ topic: 'orders', kafkaPartition: 1, kafkaOffset: 9, key: 'k', value: Buffer.alloc(1024 * 1024 + 1) }]),
      (err: Error) => err instanceof DataError && /orders\/1@9/.test(err.message),
    );
    await strict.stop();
  });

  test('throttled and partially failed PutRecords: only failed records retried, nothing lost, no duplicates, per-key order, commits never pass a failure', async () => {
    const name = await stream(3);
    const accepted = new Set<string>();
    let requests = 0;
    let internalFailures = 0;
    // Transport-level fault injection: some requests throttled whole; in others ~30% of the
    // records are taken out of the request before it is sent and reported back as failed.
    const options: KinesisSinkTaskOptions = {
      configureClient: (c) =>
        c.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName !== 'PutRecordsCommand') return next(args);
            requests++;
            if (requests % 4 === 0) throw new ProvisionedThroughputExceededException({ message: 'Rate exceeded (injected)', $metadata: { httpStatusCode: 400 } });
            const input = args.input as { Records: PutRecordsRequestEntry[] };
            const fail = input.Records.map(() => Math.random() < 0.3);
            const kept = input.Records.filter((_, i) => !fail[i]);
            const res = await next({ ...args, input: { ...input, Records: kept } });
            const output = res.output as { Records?: PutRecordsResultEntry[] };
            const sent = output.Records ?? [];
            let j = 0;
            const merged: PutRecordsResultEntry[] = input.Records.map((r, i) => {
              if (fail[i]) {
                if (i % 5 === 0) internalFailures++;
                return i % 5 === 0
                  ? { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure (injected)' }
                  : { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard (injected)' };
              }
              const out = sent[j++];
              if (!out.ErrorCode) accepted.add(Buffer.from(r.Data!).toString());
              return out;
            });
            return { ...res, output: { ...res.output, Records: merged, FailedRecordCount: merged.filter((m) => m.ErrorCode).length } };
          },
          { step: 'initialize', name: 'injectFailures' },
        ),
    };
    const task = await startSink(name, { 'retry.backoff.ms': '10', 'retry.backoff.max.ms': '200', 'max.retries': '50', 'batch.size': '100' }, options);
    const gen = new RecordGen();
    const sim = new TopicSim();
    const all: SinkRecord[] = [];
    for (let i = 0; i < 10; i++) {
      const batch = sim.toSink(gen.make(150, 30));
      all.push(...batch);
      await task.put(batch);
      // Whatever preCommit returns must be fully accepted already.
      for (const o of await task.preCommit(sim.consumed())) {
        const notYet = all.filter((r) => r.kafkaPartition === o.partition && r.kafkaOffset < o.offset && !accepted.has((r.value as Buffer).toString()));
        assert.equal(notYet.length, 0, `preCommit offset ${o.offset} of partition ${o.partition} passes unaccepted records`);
      }
    }
    await task.flush(sim.consumed());
    const m = task.metrics();
    await task.stop();
    assert.ok(m.throttled > 50, `throttling counted (${m.throttled})`);
    assert.ok(internalFailures > 0 && m.recordsFailed > 0, 'internal failures retried too');
    assert.ok(m.requestErrors > 0);
    assert.equal(m.recordsSent, 1500);
    const back = delivered(await readStream(client, name));
    checkPerKey(back, gen.counts());
    assert.equal(back.length, 1500, 'no duplicates');
  });

  test('backpressure: put waits while the stream throttles, memory stays within max.buffered.records, nothing is lost', async () => {
    const name = await stream(2);
    let throttleUntil = Date.now() + 100_000;
    const options: KinesisSinkTaskOptions = {
      configureClient: (c) =>
        c.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === 'PutRecordsCommand' && Date.now() < throttleUntil) {
              throw new ProvisionedThroughputExceededException({ message: 'Rate exceeded (injected)', $metadata: {} });
            }
            return next(args);
          },
          { step: 'initialize', name: 'throttleAll' },
        ),
    };
    const task = await startSink(name, { 'max.buffered.records': '100', 'retry.backoff.ms': '20', 'retry.backoff.max.ms': '100' }, options);
    const gen = new RecordGen();
    const sim = new TopicSim();
    let putDone = false;
    const put = task.put(sim.toSink(gen.make(400, 200))).then(() => {
      putDone = true;
    });
    await waitFor('buffer full', () => task.metrics().buffered === 100);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(putDone, false, 'put waits while the buffer is full');
    assert.equal(task.metrics().buffered, 100);
    assert.deepEqual(await task.preCommit(sim.consumed()), sim.consumed().map((o) => ({ ...o, offset: 0 })), 'nothing committable yet');
    throttleUntil = 0;
    await put;
    await task.flush(sim.consumed());
    const m = task.metrics();
    await task.stop();
    assert.equal(m.peakBuffered, 100);
    assert.ok(m.backpressureWaits > 0);
    assert.ok(m.throttled > 0);
    const back = delivered(await readStream(client, name));
    checkPerKey(back, gen.counts());
    assert.equal(back.length, 400);
  });

  test('a buffer full for longer than max.put.wait.ms pauses the partitions instead of blocking put, and resumes once drained', async () => {
    const name = await stream(2);
    let throttling = true;
    const options: KinesisSinkTaskOptions = {
      configureClient: (c) =>
        c.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === 'PutRecordsCommand' && throttling) {
              throw new ProvisionedThroughputExceededException({ message: 'Rate exceeded (injected)', $metadata: {} });
            }
            return next(args);
          },
          { step: 'initialize', name: 'throttleAll' },
        ),
    };
    const calls: string[] = [];
    const assignment = [0, 1, 2].map((partition) => ({ topic: 'orders', partition }));
    const task = new KinesisSinkTask(options);
    await task.start(
      { ...baseConfig(name), topics: 'orders', 'max.buffered.records': '100', 'max.put.wait.ms': '300', 'retry.backoff.ms': '20', 'retry.backoff.max.ms': '100' },
      { ...sinkContext(), assignment: () => assignment, pause: (tps) => calls.push(`pause ${tps.length}`), resume: (tps) => calls.push(`resume ${tps.length}`) },
    );
    const gen = new RecordGen();
    const sim = new TopicSim();
    const t = Date.now();
    await task.put(sim.toSink(gen.make(250, 120)));
    assert.ok(Date.now() - t >= 250, 'waited for room first');
    assert.deepEqual(calls, ['pause 3']);
    assert.equal(task.metrics().buffered, 250, 'bounded by the buffer plus the batch in hand');
    assert.equal(task.metrics().backpressurePauses, 1);
    throttling = false;
    await waitFor('resumed', () => calls.includes('resume 3'));
    await task.flush(sim.consumed());
    await task.stop();
    const back = delivered(await readStream(client, name));
    checkPerKey(back, gen.counts());
    assert.equal(back.length, 250);
  });

  test('crash: a new task from the committed offsets delivers everything; duplicates bounded by what was not committed', async () => {
    const name = await stream(2);
    const gen = new RecordGen();
    const sim = new TopicSim();
    const log: SinkRecord[] = [];
    for (let i = 0; i < 8; i++) log.push(...sim.toSink(gen.make(100, 25)));

    const first = await startSink(name, { 'linger.ms': '50' });
    let committed = new Map<number, number>();
    const consumed = new Map<number, number>();
    for (let i = 0; i < 6; i++) {
      const chunk = log.slice(i * 100, i * 100 + 100);
      await first.put(chunk);
      for (const r of chunk) consumed.set(r.kafkaPartition, r.kafkaOffset + 1);
      if (i === 1 || i === 3) {
        await waitFor('acknowledgements', () => first.metrics().recordsSent >= (i + 1) * 100);
        const safe = await first.preCommit([...consumed].map(([partition, offset]) => ({ topic: 'orders', partition, offset })));
        committed = new Map(safe.map((o) => [o.partition, o.offset]));
      }
    }
    await first.stop(); // no flush: the "worker" died

    const second = await startSink(name);
    const redelivered = log.filter((r) => r.kafkaOffset >= (committed.get(r.kafkaPartition) ?? 0));
    await second.put(redelivered);
    await second.flush([]);
    await second.stop();
    await new Promise((r) => setTimeout(r, 200));

    const back = delivered(await readStream(client, name));
    const dups = checkPerKey(back, countsOf(log.map((r) => JSON.parse((r.value as Buffer).toString()) as TestRecord)), { allowDuplicates: true });
    const firstPut = new Set(log.slice(0, 600));
    const uncommitted = redelivered.filter((r) => firstPut.has(r)).length;
    assert.ok(uncommitted < 600, 'some offsets were committed before the crash');
    assert.ok(dups <= uncommitted, `duplicates ${dups} bounded by the ${uncommitted} records consumed but not committed`);
  });
});
