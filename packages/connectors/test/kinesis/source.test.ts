import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InvalidArgumentException, ProvisionedThroughputExceededException, type KinesisClient } from '@aws-sdk/client-kinesis';
import { ConfigError, silentLogger, type SourceRecord } from '@ferry/core';
import { KinesisSource, KinesisSourceTask } from '../../src/kinesis/index.js';
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
  listShards,
  putTestRecords,
  uniqueName,
  waitFor,
} from './helpers.js';

const fastSource = (stream: string, topic = 'kinesis-in'): Record<string, string> => ({
  ...baseConfig(stream),
  'kafka.topic': topic,
  'kinesis.position': 'TRIM_HORIZON',
  'kinesis.empty.records.backoff.ms': '100',
  'kinesis.throughput.exceeded.backoff.ms': '100',
  'kinesis.shard.discovery.interval.ms': '300',
});

describe('KinesisSource config', () => {
  test('AT_TIMESTAMP needs kinesis.shard.timestamp; credentials come as a pair; record limit capped', () => {
    const r = KinesisSource.config.validate({ ...fastSource('s'), 'kinesis.position': 'AT_TIMESTAMP' });
    assert.ok(r.errors['kinesis.shard.timestamp']?.length);
    const ok = KinesisSource.config.validate({ ...fastSource('s'), 'kinesis.position': 'AT_TIMESTAMP', 'kinesis.shard.timestamp': '2024-01-31T00:00:00Z' });
    assert.equal(ok.errorCount, 0);
    const cred = KinesisSource.config.validate({ 'kinesis.stream': 's', 'kafka.topic': 't', 'aws.access.key.id': 'x' });
    assert.ok(cred.errors['aws.secret.access.key']?.length);
    const lim = KinesisSource.config.validate({ ...fastSource('s'), 'kinesis.record.limit': '10001' });
    assert.ok(lim.errors['kinesis.record.limit']?.length);
    assert.throws(() => KinesisSource.config.parse({ 'kinesis.stream': 's' }), ConfigError);
    assert.deepEqual(KinesisSource.config.secretKeys().sort(), ['aws.secret.access.key', 'aws.session.token']);
    const d = KinesisSource.config.parse({ 'kinesis.stream': 's', 'kafka.topic': 't' });
    assert.equal(d['kinesis.record.limit'], 500);
    assert.equal(d['kinesis.position'], 'TRIM_HORIZON');
  });
});

describe('KinesisSource against the emulator', () => {
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
    const name = uniqueName('src');
    streams.push(name);
    await createStream(client, name, shards);
    return name;
  }

  test('validate() reports a missing stream and accepts an existing one', async () => {
    const name = await stream(1);
    const conn = await KinesisSource.create();
    assert.deepEqual(await conn.validate!(fastSource(name)), {});
    const errs = await conn.validate!(fastSource(name + '-missing'));
    assert.match(errs['kinesis.stream']?.[0] ?? '', /not found/);
  });

  test('reads every record of 3 shards with 2 tasks: key, value, headers, timestamp, offsets', async () => {
    const name = await stream(3);
    const gen = new RecordGen();
    const records = gen.make(1500, 40);
    const before = Date.now();
    await putTestRecords(client, name, records);

    const runner = new SourceRunner(fastSource(name), new MemoryOffsets(), { maxTasks: 2 });
    await runner.start();
    try {
      assert.equal(runner.tasks.length, 2, 'shards split across 2 tasks');
      await waitFor('all records', () => runner.output.length >= records.length);
      checkPerKey(runner.delivered(), gen.counts());

      const r: SourceRecord = runner.output[0];
      assert.equal(r.topic, 'kinesis-in');
      assert.equal(typeof r.key, 'string');
      assert.equal(r.keySchema?.type, 'string');
      assert.ok(Buffer.isBuffer(r.value));
      assert.equal(decode(r.value as Buffer).key, r.key);
      assert.ok(typeof r.timestamp === 'number' && r.timestamp >= before - 5_000 && r.timestamp <= Date.now());
      const h = Object.fromEntries((r.headers ?? []).map((x) => [x.key, x.value]));
      assert.match(String(h['kinesis.sequence.number']), /^\d+$/);
      assert.match(String(h['kinesis.shard.id']), /^shardId-/);
      assert.equal(h['kinesis.approximate.arrival.timestamp'], r.timestamp);
      assert.deepEqual(r.sourcePartition, { stream: name, shard: h['kinesis.shard.id'] });
      assert.deepEqual(r.sourceOffset, { seq: h['kinesis.sequence.number'] });

      // Every shard got its own checkpoint.
      await waitFor('3 offsets stored', () => runner.offsets.data.size === 3);
      const m = runner.createdTasks.map((t) => t.metrics());
      assert.equal(m.reduce((n, x) => n + x.recordsRead, 0), records.length);
      assert.equal(m.reduce((n, x) => n + x.shardsReading, 0), 3);
    } finally {
      await runner.stop();
    }
  });

  test('a restart resumes after the stored offsets: nothing lost, duplicates bounded by what was not stored', async () => {
    const name = await stream(3);
    const gen = new RecordGen();
    await putTestRecords(client, name, gen.make(900, 30));
    const cfg = { ...fastSource(name), 'kinesis.record.limit': '50' };
    const offsets = new MemoryOffsets();

    // First run: offsets are stored every 4th poll only, then the worker "crashes".
    const first = new SourceRunner(cfg, offsets, { maxTasks: 1, flushEveryPolls: 4 });
    await first.start();
    await waitFor('some records', () => first.output.length >= 300);
    await first.crash();
    const storedBefore = offsets.snapshot();
    const firstDelivered = first.delivered();

    // More records arrive while it is down.
    await putTestRecords(client, name, gen.make(300, 30));

    const second = new SourceRunner(cfg, offsets, { maxTasks: 2 });
    await second.start();
    try {
      await waitFor('the rest', () => {
        const got = new Set([...firstDelivered, ...second.delivered()].map((r) => `${r.key}#${r.n}`));
        return got.size >= 1200;
      });
      const all = [...firstDelivered, ...second.delivered()];
      const dups = checkPerKey(all, gen.counts(), { allowDuplicates: true });
      // Duplicates are exactly the records produced after the last stored offsets of the first run.
      let unstored = 0;
      for (const r of first.output) {
        const o = await storedBefore.offset(r.sourcePartition);
        if (!o || BigInt(o.seq as string) < BigInt((r.sourceOffset as { seq: string }).seq)) unstored++;
      }
      assert.equal(dups, unstored, 'replayed exactly the records whose offsets were not stored');
      assert.ok(dups <= 4 * 50 * 3, `duplicates bounded by the unflushed polls (${dups})`);
    } finally {
      await second.stop();
    }
  });

  test('LATEST skips what was there before the connector started, then reads everything new', async () => {
    const name = await stream(2);
    const gen = new RecordGen();
    await putTestRecords(client, name, gen.make(200, 10));
    const old = gen.counts();
    const runner = new SourceRunner({ ...fastSource(name), 'kinesis.position': 'LATEST' }, new MemoryOffsets(), { maxTasks: 1 });
    await new Promise((r) => setTimeout(r, 20));
    await runner.start();
    try {
      const fresh = gen.make(200, 10);
      await putTestRecords(client, name, fresh);
      await waitFor('new records', () => runner.output.length >= 200);
      await new Promise((r) => setTimeout(r, 300));
      const got = runner.delivered();
      assert.equal(got.length, 200);
      for (const r of got) assert.ok(r.n >= (old.get(r.key) ?? 0), `old record ${r.key}#${r.n} read`);
    } finally {
      await runner.stop();
    }
  });

  test('AT_TIMESTAMP starts at the given time', async () => {
    const name = await stream(1);
    const gen = new RecordGen();
    await putTestRecords(client, name, gen.make(50, 5));
    await new Promise((r) => setTimeout(r, 1100));
    const ts = Date.now();
    await new Promise((r) => setTimeout(r, 50));
    const later = gen.make(50, 5);
    await putTestRecords(client, name, later);
    const runner = new SourceRunner({ ...fastSource(name), 'kinesis.position': 'AT_TIMESTAMP', 'kinesis.shard.timestamp': String(ts) });
    await runner.start();
    try {
      await waitFor('records after ts', () => runner.output.length >= 50);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(runner.output.length, 50);
      assert.deepEqual(runner.delivered(), later);
    } finally {
      await runner.stop();
    }
  });

  test('throttled reads back off with jitter, are counted, and lose nothing', async () => {
    const name = await stream(3);
    const gen = new RecordGen();
    await putTestRecords(client, name, gen.make(1200, 25));
    let calls = 0;
    const runner = new SourceRunner({ ...fastSource(name), 'kinesis.record.limit': '100' }, new MemoryOffsets(), { maxTasks: 1 });
    // Every other GetRecords and every 5th GetShardIterator is refused as the service does over its limits.
    runner.taskOptions = {
      configureClient: (c) =>
        c.middlewareStack.add(
          (next, context) => async (args) => {
            calls++;
            if ((context.commandName === 'GetRecordsCommand' && calls % 2 === 0) || (context.commandName === 'GetShardIteratorCommand' && calls % 5 === 0)) {
              throw new ProvisionedThroughputExceededException({ message: 'Rate exceeded for shard (injected)', $metadata: { httpStatusCode: 400 } });
            }
            return next(args);
          },
          { step: 'initialize', name: 'injectThrottling' },
        ),
    };
    await runner.start();
    try {
      await waitFor('all records despite throttling', () => runner.output.length >= 1200, 60_000);
      checkPerKey(runner.delivered(), gen.counts());
      const m = (runner.createdTasks[0] as KinesisSourceTask).metrics();
      assert.ok(m.throttled >= 5, `throttling counted (${m.throttled})`);
      assert.equal(m.recordsRead, 1200);
      assert.equal(runner.errors.length, 0);
    } finally {
      await runner.stop();
    }
  });

  test('respects 5 GetRecords calls per second per shard', async () => {
    const name = await stream(1);
    const gen = new RecordGen();
    await putTestRecords(client, name, gen.make(400, 4));
    const times: number[] = [];
    const task = new KinesisSourceTask({
      configureClient: (c) =>
        c.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === 'GetRecordsCommand') times.push(Date.now());
            return next(args);
          },
          { step: 'initialize', name: 'countCalls' },
        ),
    });
    const [cfg] = await taskConfigsFor({ ...fastSource(name), 'kinesis.record.limit': '10' });
    const abort = new AbortController();
    await task.start(cfg, { connectorName: 't', taskId: 0, logger: silentLogger, offsetReader: new MemoryOffsets(), signal: abort.signal });
    let got = 0;
    while (got < 150) got += (await task.poll()).length;
    await task.stop();
    for (let i = 5; i < times.length; i++) {
      assert.ok(times[i] - times[i - 5] >= 990, `6 calls within ${times[i] - times[i - 5]} ms`);
    }
  });

  test('poll returns promptly when the task is stopped', async () => {
    const name = await stream(1);
    const [cfg] = await taskConfigsFor({ ...fastSource(name), 'kinesis.empty.records.backoff.ms': '60000' });
    const task = new KinesisSourceTask();
    const abort = new AbortController();
    await task.start(cfg, { connectorName: 't', taskId: 0, logger: silentLogger, offsetReader: new MemoryOffsets(), signal: abort.signal });
    await task.poll(); // empty shard: now backing off for a minute
    const t = Date.now();
    const p = task.poll();
    setTimeout(() => abort.abort(), 50);
    assert.deepEqual(await p, []);
    assert.ok(Date.now() - t < 1_500);
    await task.stop();
  });

  test('a stored offset the service refuses fails the task instead of starting elsewhere', async () => {
    const name = await stream(1);
    const [shard] = await listShards(client, name);
    const offsets = new MemoryOffsets();
    offsets.set({ stream: name, shard: shard.ShardId! }, { seq: '49000000000000000000000000000000000000000000000000000001' });
    const [cfg] = await taskConfigsFor(fastSource(name), offsets);
    const types: string[] = [];
    // The emulator accepts any number; the service answers this for a sequence number from elsewhere.
    const task = new KinesisSourceTask({
      configureClient: (c) =>
        c.middlewareStack.add(
          (next, context) => async (args) => {
            const input = args.input as { ShardIteratorType?: string };
            if (context.commandName === 'GetShardIteratorCommand') {
              types.push(input.ShardIteratorType!);
              if (input.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER') {
                throw new InvalidArgumentException({ message: 'StartingSequenceNumber did not come from this stream (injected)', $metadata: {} });
              }
            }
            return next(args);
          },
          { step: 'initialize', name: 'refuseSeq' },
        ),
    });
    await task.start(cfg, { connectorName: 't', taskId: 0, logger: silentLogger, offsetReader: offsets, signal: new AbortController().signal });
    await assert.rejects(task.poll(), /Cannot resume shard .* after stored sequence number/);
    assert.deepEqual(types, ['AFTER_SEQUENCE_NUMBER'], 'no fallback to TRIM_HORIZON');
    await task.stop();
  });
});

async function taskConfigsFor(config: Record<string, string>, offsets = new MemoryOffsets(), maxTasks = 1): Promise<Record<string, string>[]> {
  const conn = await KinesisSource.create();
  const abort = new AbortController();
  await conn.start(config, {
    connectorName: 't',
    logger: silentLogger,
    signal: abort.signal,
    requestTaskReconfiguration() {},
    raiseError() {},
    offsetReader: offsets,
  } as never);
  const cfgs = await conn.taskConfigs(maxTasks);
  abort.abort();
  await conn.stop();
  return cfgs;
}
