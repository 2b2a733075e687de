/**
 * S3 benchmark: records/s, MB/s and peak RSS of S3Sink (JSON+gzip, Parquet)
 * and S3Source (restore), beside raw PutObject / GetObject of the same bytes
 * in the same run.
 *
 *   node --import tsx --conditions=development bench/s3.ts
 *   BENCH_RECORDS=1000000 node --import tsx --conditions=development bench/s3.ts
 *
 * Needs the S3 emulator (node scripts/stack.mjs up s3).
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Schemas, silentLogger, type SinkRecord, type SourceRecord } from '@ferry/core';
import { S3SinkTask } from '../packages/connectors/src/s3/sink-task.js';
import { MemoryOffsets, baseConfig, createBucket, dropBucket, listAll, raw, sinkContext, startSource } from '../packages/connectors/test/s3/helpers.js';

const N = Number(process.env.BENCH_RECORDS ?? 200_000);
const PARTITIONS = 4;
const BATCH = 5000;

const schema = Schemas.struct([
  ['id', Schemas.int64()],
  ['user', Schemas.string()],
  ['country', Schemas.string()],
  ['amount', Schemas.float64()],
  ['at', Schemas.timestamp()],
  ['note', Schemas.string(true)],
]);

function makeRecords(withSchema: boolean): SinkRecord[] {
  const out: SinkRecord[] = [];
  const countries = ['NO', 'SE', 'DK', 'FI', 'DE', 'FR', 'US'];
  for (let i = 0; i < N; i++) {
    const p = i % PARTITIONS;
    const value = {
      id: i,
      user: `user-${(i * 7919) % 50000}`,
      country: countries[i % countries.length],
      amount: Math.round(i * 13.37) / 100,
      at: withSchema ? new Date(1_700_000_000_000 + i * 10) : 1_700_000_000_000 + i * 10,
      note: i % 3 ? `order ${i} shipped to warehouse ${i % 97}` : null,
    };
    out.push({ topic: 'bench', kafkaPartition: p, kafkaOffset: Math.floor(i / PARTITIONS), key: null, value, valueSchema: withSchema ? schema : null, timestamp: 1_700_000_000_000 + i * 10 });
  }
  return out;
}

/** Peak RSS during `fn`, sampled every 20 ms. */
async function measure<T>(fn: () => Promise<T>): Promise<{ result: T; seconds: number; peakRssMiB: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t0 = performance.now();
  try {
    const result = await fn();
    return { result, seconds: (performance.now() - t0) / 1000, peakRssMiB: Math.max(peak, process.memoryUsage().rss) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

async function objectBytes(bucket: string, keys: string[]): Promise<Map<string, Buffer>> {
  const m = new Map<string, Buffer>();
  for (const k of keys) {
    const r = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
    m.set(k, Buffer.from(await r.Body!.transformToByteArray()));
  }
  return m;
}

/** Raw ceiling: PutObject of the same bytes, 4 at a time (the sink's upload concurrency). */
async function rawPut(bucket: string, objects: Map<string, Buffer>): Promise<void> {
  const entries = [...objects.entries()];
  let i = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (i < entries.length) {
        const [k, b] = entries[i++];
        await raw.send(new PutObjectCommand({ Bucket: bucket, Key: `raw/${k}`, Body: b }));
      }
    }),
  );
}

async function rawGet(bucket: string, keys: string[]): Promise<number> {
  let bytes = 0;
  let i = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (i < keys.length) {
        const r = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: keys[i++] }));
        bytes += (await r.Body!.transformToByteArray()).length;
      }
    }),
  );
  return bytes;
}

const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function sinkRun(bucket: string, name: string, extra: Record<string, string>, records: SinkRecord[]) {
  const dir = `bench-${name}`;
  const task = new S3SinkTask();
  const perPartition = N / PARTITIONS;
  await task.start(baseConfig(bucket, { 'topics.dir': dir, 'flush.size': String(Math.ceil(perPartition / 2)), ...extra }), { ...sinkContext(), logger: silentLogger });
  const m = await measure(async () => {
    for (let i = 0; i < records.length; i += BATCH) await task.put(records.slice(i, i + BATCH));
    const offsets = Array.from({ length: PARTITIONS }, (_, p) => ({ topic: 'bench', partition: p, offset: perPartition }));
    const done = await task.preCommit(offsets);
    if (!done.every((o) => o.offset === perPartition)) throw new Error(`not all committed: ${JSON.stringify(done)}`);
  });
  await task.stop();
  const keys = await listAll(bucket, `${dir}/`);
  const objects = await objectBytes(bucket, keys);
  const stored = [...objects.values()].reduce((n, b) => n + b.length, 0);
  const rawRun = await measure(() => rawPut(bucket, objects));
  return { dir, keys, stored, ...m, rawSeconds: rawRun.seconds };
}

async function sourceRun(bucket: string, dir: string, format: string, keys: string[]) {
  const offsets = new MemoryOffsets();
  const tasks = await startSource(baseConfig(bucket, { mode: 'restore', 'topics.dir': dir, 'format.class': format, 'record.batch.max.size': '5000' }), offsets, 1);
  const m = await measure(async () => {
    let n = 0;
    let last: SourceRecord[] = [];
    while (n < N) {
      last = (await tasks[0].poll()) ?? [];
      n += last.length;
    }
    return n;
  });
  for (const t of tasks) await t.stop();
  const rawRun = await measure(() => rawGet(bucket, keys));
  return { ...m, rawSeconds: rawRun.seconds, bytes: rawRun.result };
}

async function main() {
  const bucket = await createBucket('ferry-bench');
  const rows: string[] = [];
  const line = (what: string, seconds: number, bytes: number, rawSeconds: number, rss: number) =>
    rows.push(
      `${what.padEnd(28)} ${fmt(N / seconds).padStart(9)} rec/s ${fmt(bytes / 2 ** 20 / seconds, 1).padStart(7)} MB/s  raw ${fmt(bytes / 2 ** 20 / rawSeconds, 1).padStart(7)} MB/s  ratio ${fmt(rawSeconds / seconds, 2)}  peak RSS ${fmt(rss)} MiB`,
    );
  try {
    const jsonRecords = makeRecords(false);
    const jsonBytes = jsonRecords.reduce((n, r) => n + JSON.stringify(r.value).length + 1, 0);
    const gz = await sinkRun(bucket, 'json-gz', { 's3.compression.type': 'gzip' }, jsonRecords);
    line('S3Sink JSON+gzip', gz.seconds, gz.stored, gz.rawSeconds, gz.peakRssMiB);
    rows.push(`  (${fmt(jsonBytes / 2 ** 20, 1)} MiB of JSON -> ${fmt(gz.stored / 2 ** 20, 1)} MiB gzip in ${gz.keys.length} objects; ${fmt(jsonBytes / 2 ** 20 / gz.seconds, 1)} MB/s of JSON)`);
    jsonRecords.length = 0;
    const pqRecords = makeRecords(true);
    const pq = await sinkRun(bucket, 'parquet', { 'format.class': 'parquet', 'parquet.codec': 'snappy' }, pqRecords);
    line('S3Sink Parquet (snappy)', pq.seconds, pq.stored, pq.rawSeconds, pq.peakRssMiB);
    pqRecords.length = 0;
    const sgz = await sourceRun(bucket, gz.dir, 'json', gz.keys);
    line('S3Source restore JSON+gzip', sgz.seconds, sgz.bytes, sgz.rawSeconds, sgz.peakRssMiB);
    const spq = await sourceRun(bucket, pq.dir, 'parquet', pq.keys);
    line('S3Source restore Parquet', spq.seconds, spq.bytes, spq.rawSeconds, spq.peakRssMiB);
  } finally {
    await dropBucket(bucket);
  }
  console.log(`S3 benchmark: ${fmt(N)} records, ${PARTITIONS} partitions, against ${process.env.S3_URL ?? 'http://127.0.0.1:9000'} (ratio = raw S3 time / connector time for the same bytes)`);
  for (const r of rows) console.log(r);
}

await main();
