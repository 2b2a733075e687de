import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ParquetReader } from '@dsnp/parquetjs';
import { ConfigError, Schemas, hasErrorCode, type SinkRecord } from '@ferry/core';
import { S3Sink } from '../../src/s3/index.js';
import {
  baseConfig,
  consumed,
  createBucket,
  dropBucket,
  getBytes,
  jsonLines,
  listAll,
  rec,
  s3Up,
  sinkContext,
  startSink,
  waitFor,
} from './helpers.js';

const up = await s3Up();
// npm test starts the emulator: a missing server fails the run instead of hiding coverage
assert.ok(up, 'S3 emulator (s3rver) not reachable at 127.0.0.1:9000: node scripts/stack.mjs up s3');

/** Reads a Parquet object with a second, independent Parquet library. */
async function parquetRows(bucket: string, key: string): Promise<Record<string, unknown>[]> {
  const reader = await ParquetReader.openBuffer(await getBytes(bucket, key));
  const cursor = reader.getCursor();
  const rows: Record<string, unknown>[] = [];
  for (let r = await cursor.next(); r; r = await cursor.next()) rows.push(r as Record<string, unknown>);
  await reader.close();
  return rows;
}

function spread(topic: string, partitions: number, perPartition: number, value: (p: number, o: number) => unknown, extra?: (p: number, o: number) => Partial<SinkRecord>): SinkRecord[] {
  const out: SinkRecord[] = [];
  for (let o = 0; o < perPartition; o++) for (let p = 0; p < partitions; p++) out.push(rec(topic, p, o, value(p, o), extra?.(p, o)));
  return out;
}

describe('S3Sink', () => {
  let bucket: string;
  before(async () => {
    bucket = await createBucket('ferry-sink');
  });
  after(async () => {
    await dropBucket(bucket);
  });

  test('default partitioner, JSON: keys per partition, exactly flush.size records per file, open files not committed', async () => {
    const topic = 'orders';
    const dir = 'default-json';
    const task = await startSink(baseConfig(bucket, { 'topics.dir': dir, 'flush.size': '10' }));
    const records = spread(topic, 3, 25, (p, o) => ({ p, o, name: `n${o}` }));
    await task.put(records.slice(0, 40));
    await task.put(records.slice(40));
    const committed = await task.preCommit(consumed(records));
    assert.deepEqual(
      committed.sort((a, b) => a.partition - b.partition),
      [0, 1, 2].map((p) => ({ topic, partition: p, offset: 20 })),
    );
    const keys = await listAll(bucket, dir + '/');
    const expected = [0, 1, 2].flatMap((p) => [0, 10].map((o) => `${dir}/${topic}/partition=${p}/${topic}+${p}+${String(o).padStart(10, '0')}.json`));
    assert.deepEqual(keys, expected.sort());
    for (const k of keys) {
      const lines = (await jsonLines(bucket, k)) as Array<{ p: number; o: number }>;
      assert.equal(lines.length, 10, k);
      const start = Number(k.split('+')[2].split('.')[0]);
      assert.deepEqual(
        lines.map((l) => l.o),
        Array.from({ length: 10 }, (_, i) => start + i),
      );
    }
    await task.stop();
  });

  test('JSON + gzip: .json.gz objects with every record', async () => {
    const dir = 'gz';
    const task = await startSink(baseConfig(bucket, { 'topics.dir': dir, 'flush.size': '50', 's3.compression.type': 'gzip' }));
    const records = spread('clicks', 2, 100, (p, o) => ({ p, o, url: `/page/${o}`.repeat(5) }));
    await task.put(records);
    await task.preCommit(consumed(records));
    const keys = await listAll(bucket, dir + '/');
    assert.equal(keys.length, 4);
    assert.ok(keys.every((k) => k.endsWith('.json.gz')));
    let n = 0;
    for (const k of keys) n += (await jsonLines(bucket, k)).length;
    assert.equal(n, 200);
    await task.stop();
  });

  test('field partitioner: <field>=<value> folders; a batch closes all its files together', async () => {
    const dir = 'field';
    const task = await startSink(baseConfig(bucket, { 'topics.dir': dir, 'flush.size': '6', 'partitioner.class': 'io.confluent.connect.storage.partitioner.FieldPartitioner', 'partition.field.name': 'region' }));
    const regions = ['eu', 'us', 'eu', 'ap', 'us', 'eu', 'eu', 'us', 'us', 'eu', 'ap', 'ap'];
    const records = regions.map((region, o) => rec('t', 0, o, { region, o }));
    await task.put(records);
    const [c] = await task.preCommit(consumed(records));
    assert.equal(c.offset, 12);
    const keys = await listAll(bucket, dir + '/');
    assert.deepEqual(keys, [
      `${dir}/t/region=ap/t+0+0000000003.json`,
      `${dir}/t/region=ap/t+0+0000000010.json`,
      `${dir}/t/region=eu/t+0+0000000000.json`,
      `${dir}/t/region=eu/t+0+0000000006.json`,
      `${dir}/t/region=us/t+0+0000000001.json`,
      `${dir}/t/region=us/t+0+0000000007.json`,
    ]);
    let total = 0;
    for (const k of keys) {
      const lines = (await jsonLines(bucket, k)) as Array<{ region: string }>;
      total += lines.length;
      assert.ok(lines.every((l) => k.includes(`region=${l.region}/`)));
    }
    assert.equal(total, 12);
    await task.stop();
  });

  test('time partitioner: path.format of the record time in the time zone; rotate.interval.ms cuts on record time', async () => {
    const dir = 'time';
    const task = await startSink(
      baseConfig(bucket, {
        'topics.dir': dir,
        'flush.size': '1000',
        'partitioner.class': 'time',
        'partition.duration.ms': '3600000',
        'path.format': "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH",
        timezone: 'America/New_York',
        'rotate.interval.ms': '1800000',
      }),
    );
    const base = Date.UTC(2024, 0, 15, 13, 0, 0); // 08:00 in New York
    const minutes = [0, 10, 20, 35, 50, 65, 70];
    const records = minutes.map((m, o) => rec('t', 0, o, { o }, { timestamp: base + m * 60000 }));
    await task.put(records);
    const [c] = await task.preCommit(consumed(records));
    // 0,10,20 | 35,50 (>=30 min after 0) | 65,70: the last batch stays open.
    assert.equal(c.offset, 5);
    assert.deepEqual(await listAll(bucket, dir + '/'), [
      `${dir}/t/year=2024/month=01/day=15/hour=08/t+0+0000000000.json`,
      `${dir}/t/year=2024/month=01/day=15/hour=08/t+0+0000000003.json`,
    ]);
    assert.equal((await jsonLines(bucket, `${dir}/t/year=2024/month=01/day=15/hour=08/t+0+0000000003.json`)).length, 2);
    await task.stop();
  });

  test('hourly partitioner with RecordField timestamps crossing an hour', async () => {
    const dir = 'hourly';
    const task = await startSink(
      baseConfig(bucket, { 'topics.dir': dir, 'flush.size': '4', 'partitioner.class': 'hourly', 'timestamp.extractor': 'RecordField', 'timestamp.field': 'meta.at' }),
    );
    const records = ['2024-03-01T10:59:00Z', '2024-03-01T11:00:00Z', '2024-03-01T10:30:00Z', '2024-03-01T11:30:00Z'].map((at, o) => rec('t', 0, o, { meta: { at } }));
    await task.put(records);
    await task.preCommit(consumed(records));
    assert.deepEqual(await listAll(bucket, dir + '/'), [
      `${dir}/t/year=2024/month=03/day=01/hour=10/t+0+0000000000.json`,
      `${dir}/t/year=2024/month=03/day=01/hour=11/t+0+0000000001.json`,
    ]);
    await task.stop();
  });

  test('bytes format: raw values joined by the separator, .bin keys', async () => {
    const dir = 'bytes';
    const task = await startSink(baseConfig(bucket, { 'topics.dir': dir, 'flush.size': '3', 'format.class': 'io.confluent.connect.s3.format.bytearray.ByteArrayFormat', 'format.bytearray.separator': '\\r\\n' }));
    const records = [Buffer.from('alpha'), 'beta', Buffer.from([0, 1, 2])].map((v, o) => rec('raw', 0, o, v));
    await task.put(records);
    await task.preCommit(consumed(records));
    const keys = await listAll(bucket, dir + '/');
    assert.deepEqual(keys, [`${dir}/raw/partition=0/raw+0+0000000000.bin`]);
    assert.deepEqual(await getBytes(bucket, keys[0]), Buffer.concat([Buffer.from('alpha\r\nbeta\r\n'), Buffer.from([0, 1, 2]), Buffer.from('\r\n')]));
    await task.stop();
  });

  test('Parquet from the record schema, read back with a second Parquet library', async () => {
    const dir = 'parquet-schema';
    const schema = Schemas.struct([
      ['id', Schemas.int64()],
      ['name', Schemas.string()],
      ['price', Schemas.decimal(2)],
      ['at', Schemas.timestamp()],
      ['tags', Schemas.array(Schemas.string())],
      ['addr', Schemas.struct([['city', Schemas.string(true)], ['zip', Schemas.int32(true)]], { optional: true })],
      ['score', Schemas.float64(true)],
      ['raw', Schemas.bytes(true)],
    ]);
    const task = await startSink(baseConfig(bucket, { 'topics.dir': dir, 'flush.size': '5', 'format.class': 'parquet', 'parquet.codec': 'snappy' }));
    const records = Array.from({ length: 10 }, (_, o) =>
      rec(
        'items',
        0,
        o,
        { id: o, name: `item ${o}`, price: `${o}.25`, at: new Date(1_700_000_000_000 + o), tags: ['a', `t${o}`], addr: o % 2 ? null : { city: 'Oslo', zip: 100 + o }, score: o / 2, raw: Buffer.from([o]) },
        { valueSchema: schema },
      ),
    );
    await task.put(records);
    await task.preCommit(consumed(records));
    const keys = await listAll(bucket, dir + '/');
    assert.deepEqual(keys, [`${dir}/items/partition=0/items+0+0000000000.parquet`, `${dir}/items/partition=0/items+0+0000000005.parquet`]);
    const rows = [...(await parquetRows(bucket, keys[0])), ...(await parquetRows(bucket, keys[1]))];
    assert.equal(rows.length, 10);
    rows.forEach((r, o) => {
      assert.equal(Number(r.id), o);
      assert.equal(r.name, `item ${o}`);
      assert.equal(Number(r.score), o / 2);
      assert.equal(new Date(r.at as Date).getTime(), 1_700_000_000_000 + o);
      assert.deepEqual((r.tags as { list: Array<{ element: string }> }).list.map((e) => e.element), ['a', `t${o}`]);
      if (o % 2) assert.equal(r.addr ?? null, null);
      else assert.deepEqual({ ...(r.addr as object) }, { city: 'Oslo', zip: 100 + o });
      assert.deepEqual(Buffer.from(r.raw as Uint8Array), Buffer.from([o]));
    });
    await task.stop();
  });

  test('Parquet from schemaless JSON: columns inferred (gzip codec), a second library reads them', async () => {
    const dir = 'parquet-infer';
    const task = await startSink(baseConfig(bucket, { 'topics.dir': dir, 'flush.size': '4', 'format.class': 'parquet', 'parquet.codec': 'gzip' }));
    const values = [{ a: 1, b: 'x' }, { a: 2.5, c: true }, { a: 3, b: 'z', d: { e: 1 } }, { b: 'w' }];
    const records = values.map((v, o) => rec('loose', 0, o, v));
    await task.put(records);
    await task.preCommit(consumed(records));
    const [key] = await listAll(bucket, dir + '/');
    const rows = await parquetRows(bucket, key);
    assert.equal(rows.length, 4);
    assert.deepEqual(
      rows.map((r) => [r.a ?? null, r.b ?? null, r.c ?? null]),
      [
        [1, 'x', null],
        [2.5, null, true],
        [3, 'z', null],
        [null, 'w', null],
      ],
    );
    await task.stop();
  });

  test('a schema change closes the Parquet file (one schema per file)', async () => {
    const dir = 'parquet-evolve';
    const s1 = Schemas.struct([['a', Schemas.int32()]]);
    const s2 = Schemas.struct([['a', Schemas.int32()], ['b', Schemas.string(true)]]);
    const task = await startSink(baseConfig(bucket, { 'topics.dir': dir, 'flush.size': '100', 'format.class': 'parquet' }));
    const records = [rec('e', 0, 0, { a: 1 }, { valueSchema: s1 }), rec('e', 0, 1, { a: 2 }, { valueSchema: s1 }), rec('e', 0, 2, { a: 3, b: 'x' }, { valueSchema: s2 })];
    await task.put(records);
    const [c] = await task.preCommit(consumed(records));
    assert.equal(c.offset, 2);
    assert.deepEqual(await listAll(bucket, dir + '/'), [`${dir}/e/partition=0/e+0+0000000000.parquet`]);
    await task.stop();
  });

  test('an idle partition is closed by rotate.schedule.interval.ms (timer), and a commit is requested', async () => {
    const dir = 'scheduled';
    const ctx = sinkContext();
    const task = await startSink(baseConfig(bucket, { 'topics.dir': dir, 'flush.size': '1000', 'rotate.schedule.interval.ms': '300' }), ctx);
    const records = [rec('idle', 0, 0, { x: 1 }), rec('idle', 1, 0, { x: 2 }), rec('idle', 1, 1, { x: 3 })];
    await task.put(records);
    await waitFor(async () => (await listAll(bucket, dir + '/')).length === 2, 10000, 'scheduled rotation');
    await waitFor(() => ctx.commitRequests > 0, 5000, 'commit request');
    const committed = await task.preCommit(consumed(records));
    assert.deepEqual(committed.map((c) => c.offset).sort(), [1, 2]);
    await task.stop();
  });

  test('rotate.interval.ms also closes the files of a partition that went idle', async () => {
    const dir = 'idle-rotate';
    const task = await startSink(baseConfig(bucket, { 'topics.dir': dir, 'flush.size': '1000', 'rotate.interval.ms': '400' }));
    const records = [rec('quiet', 0, 0, { x: 1 }, { timestamp: 5000 }), rec('quiet', 0, 1, { x: 2 }, { timestamp: 5100 })];
    await task.put(records);
    assert.deepEqual(await task.preCommit(consumed(records)), [{ topic: 'quiet', partition: 0, offset: 0 }]);
    await waitFor(async () => (await listAll(bucket, dir + '/')).length === 1, 10000, 'idle close');
    const [c] = await task.preCommit(consumed(records));
    assert.equal(c.offset, 2);
    assert.equal((await jsonLines(bucket, `${dir}/quiet/partition=0/quiet+0+0000000000.json`)).length, 2);
    await task.stop();
  });

  test('memory stays bounded: buffers spill to disk with many open partitions, and every record arrives', async () => {
    const dir = 'spill';
    const task = await startSink(baseConfig(bucket, { 'topics.dir': dir, 'flush.size': '100000', 's3.buffer.memory.bytes': '1048576', 'rotate.schedule.interval.ms': '3600000' }));
    const partitions = 64;
    const per = 120;
    const pad = 'x'.repeat(200);
    const records = spread('wide', partitions, per, (p, o) => ({ p, o, pad }));
    for (let i = 0; i < records.length; i += 1000) await task.put(records.slice(i, i + 1000));
    assert.ok(task.stats.spills > 0, 'expected spills');
    // Close everything by revoking the partitions after a forced rotation: use close of the batch via preCommit of a small flush.
    const t2 = task as unknown as { states: Map<string, unknown>; closeBatch(st: unknown, why: string): void };
    for (const st of t2.states.values()) t2.closeBatch(st, 'test');
    const committed = await task.preCommit(consumed(records));
    assert.ok(committed.every((c) => c.offset === per));
    const keys = await listAll(bucket, dir + '/');
    assert.equal(keys.length, partitions);
    let n = 0;
    for (const k of keys) {
      const lines = (await jsonLines(bucket, k)) as Array<{ o: number }>;
      assert.deepEqual(lines.map((l) => l.o), Array.from({ length: per }, (_, i) => i));
      n += lines.length;
    }
    assert.equal(n, partitions * per);
    await task.stop();
  });

  test('null values: written as null lines by default, ignored or failed on request', async () => {
    const dir = 'nulls';
    const task = await startSink(baseConfig(bucket, { 'topics.dir': dir, 'flush.size': '3' }));
    const records = [rec('n', 0, 0, { a: 1 }), rec('n', 0, 1, null), rec('n', 0, 2, { a: 3 })];
    await task.put(records);
    await task.preCommit(consumed(records));
    assert.deepEqual(await jsonLines(bucket, `${dir}/n/partition=0/n+0+0000000000.json`), [{ a: 1 }, null, { a: 3 }]);
    await task.stop();
    const failing = await startSink(baseConfig(bucket, { 'topics.dir': dir + '-fail', 'flush.size': '3', 'behavior.on.null.values': 'fail' }));
    await assert.rejects(failing.put([rec('n', 0, 0, null)]), (e: Error) => hasErrorCode(e, 'DATA_ERROR') && /n\/0\/0/.test(e.message));
    await failing.stop();
  });

  test('a record without the partition field goes to the errant record reporter and is not committed twice', async () => {
    const dir = 'errant';
    const ctx = sinkContext({ reporter: true });
    const task = await startSink(baseConfig(bucket, { 'topics.dir': dir, 'flush.size': '2', 'partitioner.class': 'field', 'partition.field.name': 'region' }), ctx);
    const records = [rec('f', 0, 0, { region: 'eu' }), rec('f', 0, 1, { other: 1 }), rec('f', 0, 2, { region: 'eu' })];
    await task.put(records);
    const [c] = await task.preCommit(consumed(records));
    assert.equal(c.offset, 3);
    assert.equal(ctx.reported.length, 1);
    assert.match(ctx.reported[0].error.message, /partition\.field\.name/);
    assert.deepEqual(await jsonLines(bucket, `${dir}/f/region=eu/f+0+0000000000.json`), [{ region: 'eu' }, { region: 'eu' }]);
    await task.stop();
  });
});

describe('S3Sink config', () => {
  test('field errors name the option', () => {
    const cfg = { 's3.bucket.name': 'Bad_Bucket', 'partitioner.class': 'time', 'format.class': 'avro', 'timestamp.extractor': 'Nope', timezone: 'Mars/Base' };
    const r = S3Sink.config.validate(cfg);
    assert.ok(r.errors['s3.bucket.name']);
    const full = S3Sink.config.validate({ ...cfg, 's3.bucket.name': 'good-bucket' });
    for (const f of ['format.class', 'timestamp.extractor', 'timezone', 'partition.duration.ms', 'path.format']) assert.ok(full.errors[f], `expected an error on ${f}: ${JSON.stringify(full.errors)}`);
    assert.throws(() => S3Sink.config.parse({ 's3.bucket.name': 'ok-bucket', 'format.class': 'bytes', 'store.kafka.keys': 'true' }), (e: ConfigError) => !!e.fieldErrors['store.kafka.keys']);
    assert.throws(() => S3Sink.config.parse({ 's3.bucket.name': 'ok-bucket', 'aws.access.key.id': 'x' }), (e: ConfigError) => !!e.fieldErrors['aws.secret.access.key']);
    assert.equal(S3Sink.config.validate({ 's3.bucket.name': 'ok-bucket', 'format.class': 'io.confluent.connect.s3.format.json.JsonFormat' }).errorCount, 0);
  });
});
