import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  silentLogger,
  type SinkRecord,
  type SinkTaskContext,
  type SourcePartition,
  type SourceOffset,
  type SourceRecord,
  type SourceTaskContext,
  type TopicPartitionOffset,
} from '@ferry/core';
import { S3SinkTask } from '../../src/s3/sink-task.js';
import { S3SourceTask } from '../../src/s3/source-task.js';
import { S3Source } from '../../src/s3/index.js';

export const S3_URL = process.env.S3_URL ?? 'http://127.0.0.1:9000';
export const uid = () => randomBytes(4).toString('hex');

/** A raw client, independent of the code under test. */
export const raw = new S3Client({
  region: 'us-east-1',
  endpoint: S3_URL,
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
});

export async function s3Up(): Promise<boolean> {
  try {
    await raw.send(new ListObjectsV2Command({ Bucket: 'ferry-probe-none' }));
    return true;
  } catch (err) {
    return (err as { name?: string }).name === 'NoSuchBucket';
  }
}

export async function createBucket(prefix = 'ferry-test'): Promise<string> {
  const b = `${prefix}-${uid()}`;
  await raw.send(new CreateBucketCommand({ Bucket: b }));
  return b;
}

export async function dropBucket(bucket: string): Promise<void> {
  try {
    for (;;) {
      const res = await raw.send(new ListObjectsV2Command({ Bucket: bucket }));
      const keys = (res.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (!keys.length) break;
      await raw.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
    }
    await raw.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch {
    // already gone
  }
}

export async function listAll(bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const res = await raw.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of res.Contents ?? []) out.push(o.Key!);
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return out.sort();
}

export async function getBytes(bucket: string, key: string): Promise<Buffer> {
  const res = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

export async function putObject(bucket: string, key: string, body: string | Buffer): Promise<void> {
  await raw.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** JSON lines of an object (gunzipped when the key ends in .gz). */
export async function jsonLines(bucket: string, key: string): Promise<unknown[]> {
  let b = await getBytes(bucket, key);
  if (key.endsWith('.gz')) b = zlib.gunzipSync(b);
  return b
    .toString()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

export function baseConfig(bucket: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    's3.bucket.name': bucket,
    'store.url': S3_URL,
    'aws.access.key.id': 'S3RVER',
    'aws.secret.access.key': 'S3RVER',
    's3.part.retries': '1',
    ...extra,
  };
}

export interface TestSinkContext extends SinkTaskContext {
  commitRequests: number;
  reported: Array<{ record: SinkRecord; error: Error }>;
}

export function sinkContext(opts: { reporter?: boolean } = {}): TestSinkContext {
  const ac = new AbortController();
  const ctx: TestSinkContext = {
    connectorName: 's3-sink-test',
    taskId: 0,
    logger: silentLogger,
    signal: ac.signal,
    assignment: () => [],
    pause() {},
    resume() {},
    requestCommit() {
      ctx.commitRequests++;
    },
    offset() {},
    commitRequests: 0,
    reported: [],
  };
  if (opts.reporter)
    (ctx as { errantRecordReporter?: unknown }).errantRecordReporter = {
      async report(record: SinkRecord, error: Error) {
        ctx.reported.push({ record, error });
      },
    };
  return ctx;
}

export async function startSink(config: Record<string, string>, ctx = sinkContext()): Promise<S3SinkTask> {
  const t = new S3SinkTask();
  await t.start(config, ctx);
  return t;
}

/** Offsets the runtime would pass to preCommit: next offset per partition of `records`. */
export function consumed(records: SinkRecord[]): TopicPartitionOffset[] {
  const m = new Map<string, TopicPartitionOffset>();
  for (const r of records) {
    const k = `${r.topic}-${r.kafkaPartition}`;
    const cur = m.get(k);
    if (!cur || cur.offset < r.kafkaOffset + 1) m.set(k, { topic: r.topic, partition: r.kafkaPartition, offset: r.kafkaOffset + 1 });
  }
  return [...m.values()];
}

export function rec(topic: string, partition: number, offset: number, value: unknown, extra: Partial<SinkRecord> = {}): SinkRecord {
  return { topic, kafkaPartition: partition, kafkaOffset: offset, key: null, value, timestamp: 1_700_000_000_000 + offset * 1000, ...extra };
}

/** An offset store in memory, with the runtime's commit step done by hand. */
export class MemoryOffsets {
  readonly map = new Map<string, SourceOffset>();
  reader = {
    offset: async (p: SourcePartition) => this.map.get(JSON.stringify(p)) ?? null,
    offsets: async (ps: SourcePartition[]) => {
      const out = new Map<SourcePartition, SourceOffset>();
      for (const p of ps) {
        const o = this.map.get(JSON.stringify(p));
        if (o) out.set(p, o);
      }
      return out;
    },
  };
  commit(records: SourceRecord[]): void {
    for (const r of records) this.map.set(JSON.stringify(r.sourcePartition), r.sourceOffset);
  }
}

export function sourceContext(offsets: MemoryOffsets, taskId = 0): SourceTaskContext & { abort(): void } {
  const ac = new AbortController();
  return { connectorName: 's3-source-test', taskId, logger: silentLogger, offsetReader: offsets.reader, signal: ac.signal, abort: () => ac.abort() };
}

/** Starts the source connector and one task per task config. */
export async function startSource(config: Record<string, string>, offsets: MemoryOffsets, maxTasks = 1): Promise<S3SourceTask[]> {
  const c = await S3Source.create();
  await c.start(config, { connectorName: 's3-source-test', logger: silentLogger, signal: new AbortController().signal, requestTaskReconfiguration() {}, raiseError() {}, offsetReader: offsets.reader } as never);
  const tasks: S3SourceTask[] = [];
  let id = 0;
  for (const tc of await c.taskConfigs(maxTasks)) {
    const t = c.createTask() as S3SourceTask;
    await t.start(tc, sourceContext(offsets, id++));
    tasks.push(t);
  }
  return tasks;
}

/** Polls until `n` records arrived (or the timeout passes). */
export async function drain(tasks: S3SourceTask[], n: number, offsets?: MemoryOffsets, timeoutMs = 20000): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n && Date.now() < deadline) {
    for (const t of tasks) {
      const got = (await t.poll()) ?? [];
      offsets?.commit(got);
      out.push(...got);
    }
  }
  return out;
}

export async function waitFor(fn: () => Promise<boolean> | boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
