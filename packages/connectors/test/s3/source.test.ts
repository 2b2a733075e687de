import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { Schemas, type Header, type SinkRecord, type SourceRecord } from '@ferry/core';
import { ParquetWriter, ParquetSchema } from '@dsnp/parquetjs';
import { S3Source } from '../../src/s3/index.js';
import { MemoryOffsets, baseConfig, consumed, createBucket, drain, dropBucket, putObject, rec, s3Up, startSink, startSource } from './helpers.js';

const up = await s3Up();
// npm test starts the emulator: a missing server fails the run instead of hiding coverage
assert.ok(up, 'S3 emulator (s3rver) not reachable at 127.0.0.1:9000: node scripts/stack.mjs up s3');

const keySchema = Schemas.struct([['id', Schemas.int64()]]);
const valueSchema = Schemas.struct([
  ['id', Schemas.int64()],
  ['name', Schemas.string()],
  ['amount', Schemas.decimal(2)],
  ['at', Schemas.timestamp()],
  ['blob', Schemas.bytes(true)],
  ['tags', Schemas.array(Schemas.string())],
  ['big', Schemas.int64(true)],
]);

/** Records of every shape a backup must keep: keys of each kind, headers, tombstones, gaps in offsets. */
function corpus(topic: string, partitions: number, per: number): SinkRecord[] {
  const out: SinkRecord[] = [];
  for (let p = 0; p < partitions; p++) {
    let offset = 0;
    for (let i = 0; i < per; i++) {
      offset += 1 + (i % 4 === 3 ? 2 : 0); // gaps, as after compaction or transaction markers
      const n = p * 1000 + i;
      const headers: Header[] = [
        { key: 'trace', value: `t-${n}` },
        { key: 'bin', value: Buffer.from([n % 256, 7]) },
      ];
      if (i % 3 === 0) headers.push({ key: 'typed', value: n, schema: Schemas.int32() });
      const kind = i % 5;
      const r: SinkRecord = {
        topic,
        kafkaPartition: p,
        kafkaOffset: offset,
        timestamp: 1_700_000_000_000 + n,
        timestampType: 'CreateTime',
        headers,
        key: kind === 0 ? `k${n}` : kind === 1 ? Buffer.from(`bk${n}`) : kind === 2 ? { id: n } : kind === 3 ? null : `k${n}`,
        keySchema: kind === 2 ? keySchema : null,
        value:
          kind === 4
            ? null
            : kind === 0
              ? { id: n, name: `name ${n}`, amount: `${n}.05`, at: new Date(1_600_000_000_000 + n), blob: Buffer.from([1, 2, n % 256]), tags: ['x', `y${n}`], big: n === 1 ? 2n ** 60n : n }
              : kind === 1
                ? Buffer.from(`raw ${n}`)
                : kind === 2
                  ? { schemaless: true, n, nested: { list: [1, 'two', null] } }
                  : `text ${n}`,
        valueSchema: kind === 0 ? valueSchema : null,
      };
      out.push(r);
    }
  }
  return out;
}

function comparable(r: SinkRecord | SourceRecord) {
  return {
    partition: r.kafkaPartition,
    key: r.key,
    keySchema: r.keySchema ?? null,
    value: r.value,
    valueSchema: r.valueSchema ?? null,
    headers: (r.headers ?? []).map((h) => ({ key: h.key, value: h.value, schema: h.schema ?? undefined })),
    timestamp: r.timestamp,
  };
}

function byPartition<T extends { kafkaPartition?: number | null }>(rs: T[]): Map<number, T[]> {
  const m = new Map<number, T[]>();
  for (const r of rs) {
    const p = r.kafkaPartition ?? -1;
    if (!m.has(p)) m.set(p, []);
    m.get(p)!.push(r);
  }
  return m;
}

describe('S3Source', () => {
  let bucket: string;
  before(async () => {
    bucket = await createBucket('ferry-source');
  });
  after(async () => {
    await dropBucket(bucket);
  });

  async function backup(dir: string, records: SinkRecord[], extra: Record<string, string>): Promise<void> {
    const sink = await startSink(baseConfig(bucket, { 'topics.dir': dir, 'store.kafka.keys': 'true', 'store.kafka.headers': 'true', ...extra }));
    await sink.put(records);
    // Close the last open files too (as a rotation would) so the whole stream is in S3.
    const t = sink as unknown as { states: Map<string, unknown>; closeBatch(st: unknown, w: string): void };
    for (const st of t.states.values()) t.closeBatch(st, 'test');
    await sink.preCommit(consumed(records));
    await sink.stop();
  }

  for (const [name, extra] of [
    ['JSON envelopes', { 'format.class': 'json', 'flush.size': '6' }],
    ['gzipped JSON envelopes, field partitioner', { 'format.class': 'json', 's3.compression.type': 'gzip', 'flush.size': '9', 'partitioner.class': 'field', 'partition.field.name': 'name' }],
    ['Parquet envelopes', { 'format.class': 'parquet', 'flush.size': '7' }],
  ] as const)
    test(`round trip sink -> source restore is exact (${name}): keys, values, headers, partitions, order, timestamps`, async () => {
      const dir = `rt-${name.replace(/\W+/g, '-')}`;
      const topic = 'accounts';
      const records = corpus(topic, 3, 40);
      const fmt = extra['format.class'];
      const sinkExtra: Record<string, string> = { ...extra };
      if (sinkExtra['partitioner.class'] === 'field') {
        // Field partitioning needs the field in every value: restrict the corpus to struct values.
        records.splice(0, records.length, ...records.filter((r) => r.valueSchema));
      }
      await backup(dir, records, sinkExtra);
      const offsets = new MemoryOffsets();
      const tasks = await startSource(baseConfig(bucket, { mode: 'restore', 'topics.dir': dir, 'format.class': fmt, 'topic.rename.format': 'restored-${topic}' }), offsets, 2);
      const got = await drain(tasks, records.length, offsets);
      for (const t of tasks) await t.stop();
      assert.equal(got.length, records.length);
      assert.ok(got.every((r) => r.topic === `restored-${topic}`));
      const want = byPartition(records);
      const have = byPartition(got);
      for (const [p, rs] of want) {
        const hs = have.get(p) ?? [];
        assert.equal(hs.length, rs.length, `partition ${p}`);
        hs.forEach((h, i) => assert.deepEqual(comparable(h), comparable(rs[i]), `partition ${p} #${i} (offset ${rs[i].kafkaOffset})`));
      }
    });

  test('restore resumes from committed offsets after a restart, without duplicates, and picks up new files', async () => {
    const dir = 'resume';
    const records = corpus('ledger', 2, 30);
    await backup(dir, records.filter((r) => r.kafkaOffset < 20), { 'flush.size': '4' });
    const offsets = new MemoryOffsets();
    const cfg = baseConfig(bucket, { mode: 'restore', 'topics.dir': dir, 'record.batch.max.size': '5', 's3.poll.interval.ms': '100' });
    const firstTasks = await startSource(cfg, offsets, 1);
    const first = await firstTasks[0].poll();
    offsets.commit(first);
    const second = await firstTasks[0].poll(); // produced but never committed: will be read again
    assert.ok(first.length && second.length);
    await firstTasks[0].stop();
    const tasks = await startSource(cfg, offsets, 1);
    const firstBatch = records.filter((r) => r.kafkaOffset < 20);
    const rest = await drain(tasks, firstBatch.length - first.length, offsets);
    const seen = [...first, ...rest];
    assert.equal(seen.length, firstBatch.length);
    assert.equal(new Set(seen.map((r) => `${r.kafkaPartition}:${(r.sourceOffset as { offset: number }).offset}`)).size, seen.length);
    // New objects written later are picked up by the running task.
    await backup(dir, records.filter((r) => r.kafkaOffset >= 20), { 'flush.size': '4' });
    const late = await drain(tasks, records.length - firstBatch.length, offsets);
    assert.equal(late.length, records.length - firstBatch.length);
    for (const t of tasks) await t.stop();
  });

  test('restore splits the partition folders across tasks', async () => {
    const dir = 'split';
    await backup(dir, corpus('s', 4, 5), { 'flush.size': '2' });
    const c = await S3Source.create();
    await c.start(baseConfig(bucket, { mode: 'restore', 'topics.dir': dir }), {} as never);
    const tcs = await c.taskConfigs(3);
    assert.equal(tcs.length, 3);
    const units = tcs.flatMap((t) => JSON.parse(t['s3.source.units']) as Array<{ dir: string }>).map((u) => u.dir).sort();
    assert.deepEqual(units, [0, 1, 2, 3].map((p) => `${dir}/s/partition=${p}/`));
  });

  test('generic mode: JSON lines (plain and gzip) in key order, resume mid-object, new objects picked up', async () => {
    const prefix = 'landing/events/';
    const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ seq: from + i })).join('\n') + '\n';
    await putObject(bucket, `${prefix}2024-01-01.json`, lines(0, 10));
    await putObject(bucket, `${prefix}2024-01-02.json.gz`, zlib.gzipSync(lines(10, 10)));
    await putObject(bucket, `${prefix}ignored.csv`, 'a,b\n');
    const offsets = new MemoryOffsets();
    const cfg = baseConfig(bucket, { mode: 'generic', 's3.prefix': prefix, 'kafka.topic': 'events', 'record.batch.max.size': '4', 's3.poll.interval.ms': '100' });
    let tasks = await startSource(cfg, offsets);
    const a = await tasks[0].poll();
    const b = await tasks[0].poll();
    offsets.commit(a);
    offsets.commit(b);
    assert.deepEqual((b.at(-1)!.sourceOffset as { key: string; position: number }), { key: `${prefix}2024-01-01.json`, position: 8 });
    await tasks[0].stop();
    tasks = await startSource(cfg, offsets); // restart: resumes at line 9 of the first object
    const rest = await drain(tasks, 12, offsets);
    const seqs = [...a, ...b, ...rest].map((r) => (r.value as { seq: number }).seq);
    assert.deepEqual(seqs, Array.from({ length: 20 }, (_, i) => i));
    assert.ok(rest.every((r) => r.topic === 'events'));
    await putObject(bucket, `${prefix}2024-01-03.json`, lines(20, 3));
    const late = await drain(tasks, 3, offsets);
    assert.deepEqual(late.map((r) => (r.value as { seq: number }).seq), [20, 21, 22]);
    for (const t of tasks) await t.stop();
  });

  test('generic mode: Parquet written by another library becomes struct records with a schema', async () => {
    const prefix = 'lake/';
    const schema = new ParquetSchema({ id: { type: 'INT64' }, city: { type: 'UTF8' }, score: { type: 'DOUBLE', optional: true } });
    const writer = await ParquetWriter.openFile(schema, '/tmp/ferry-generic-test.parquet');
    for (let i = 0; i < 5; i++) await writer.appendRow({ id: BigInt(i), city: `c${i}`, score: i % 2 ? i / 2 : null });
    await writer.close();
    const { readFileSync, rmSync } = await import('node:fs');
    await putObject(bucket, `${prefix}part-0.parquet`, readFileSync('/tmp/ferry-generic-test.parquet'));
    rmSync('/tmp/ferry-generic-test.parquet');
    const offsets = new MemoryOffsets();
    const tasks = await startSource(baseConfig(bucket, { mode: 'generic', 's3.prefix': prefix, 'kafka.topic': 'lake', 'format.class': 'parquet' }), offsets);
    const got = await drain(tasks, 5, offsets);
    await tasks[0].stop();
    assert.deepEqual(
      got.map((r) => r.value),
      Array.from({ length: 5 }, (_, i) => ({ id: i, city: `c${i}`, score: i % 2 ? i / 2 : null })),
    );
    assert.deepEqual(got[0].valueSchema?.fields?.map((f) => [f.field, f.type]), [
      ['id', 'int64'],
      ['city', 'string'],
      ['score', 'double'],
    ]);
  });
});
