/**
 * Test helpers for the Kinesis connectors: streams on the emulator, an
 * in-memory offset store, and a small runner that drives a source connector
 * and its tasks the way the runtime does (poll, "produce", store offsets,
 * commit, reconfigure on request, or crash without storing).
 */
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  ListStreamsCommand,
  PutRecordsCommand,
  type _Record,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import {
  silentLogger,
  type ConnectorContext,
  type OffsetStorageReader,
  type SourceOffset,
  type SourcePartition,
  type SourceRecord,
  type SourceTask,
  type SourceConnectorContext,
} from '@ferry/core';
import { KinesisSourceConnector, KinesisSourceTask, type KinesisSourceTaskOptions } from '../../src/kinesis/index.js';

export const ENDPOINT = process.env.KINESIS_ENDPOINT ?? 'http://127.0.0.1:4568';
export const REGION = 'us-east-1';

export const baseConfig = (stream: string): Record<string, string> => ({
  'kinesis.stream': stream,
  'kinesis.region': REGION,
  'kinesis.endpoint': ENDPOINT,
  'aws.access.key.id': 'test',
  'aws.secret.access.key': 'test',
});

let stackUp: Promise<void> | undefined;
/**
 * Makes sure the emulator runs: when nothing answers on its port, the stack's
 * `up` starts it (a busy emulator that answers slowly is left alone). Skipped
 * when KINESIS_ENDPOINT points elsewhere.
 */
export function requireKinesis(): Promise<void> {
  if (process.env.KINESIS_ENDPOINT) return Promise.resolve();
  stackUp ??= (async () => {
    const c = kinesis();
    try {
      await c.send(new ListStreamsCommand({ Limit: 1 }));
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ECONNREFUSED') return;
    } finally {
      c.destroy();
    }
    // @ts-expect-error: the stack scripts are plain JavaScript without types
    const { up } = (await import('../../../../scripts/stack/index.mjs')) as { up: (names: string[], opts: object) => Promise<unknown> };
    await up(['kinesis'], { log: () => undefined });
  })();
  return stackUp;
}

export function kinesis(): KinesisClient {
  return new KinesisClient({
    region: REGION,
    endpoint: ENDPOINT,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: new NodeHttpHandler(),
  });
}

export const uniqueName = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function waitActive(client: KinesisClient, stream: string): Promise<void> {
  await waitFor(`stream ${stream} ACTIVE`, async () => {
    const d = await client.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    return d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
  });
}

export async function createStream(client: KinesisClient, stream: string, shards: number): Promise<void> {
  await client.send(new CreateStreamCommand({ StreamName: stream, ShardCount: shards }));
  await waitActive(client, stream);
}

export async function deleteStream(client: KinesisClient, stream: string): Promise<void> {
  try {
    await client.send(new DeleteStreamCommand({ StreamName: stream, EnforceConsumerDeletion: true }));
  } catch {
    // already gone
  }
}

export async function listShards(client: KinesisClient, stream: string): Promise<Shard[]> {
  return (await client.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
}

export interface TestRecord {
  key: string;
  n: number;
}

/** Makes records `{key, n}` over `keys` keys, interleaved, n counting per key across calls. */
export class RecordGen {
  private next = new Map<string, number>();
  make(count: number, keys: number): TestRecord[] {
    const out: TestRecord[] = [];
    for (let i = 0; i < count; i++) {
      const key = `key-${i % keys}`;
      const n = this.next.get(key) ?? 0;
      this.next.set(key, n + 1);
      out.push({ key, n });
    }
    return out;
  }
  counts(): Map<string, number> {
    return new Map(this.next);
  }
}

/** Writes records in order (per key), retrying failed entries before moving on. */
export async function putTestRecords(client: KinesisClient, stream: string, records: TestRecord[], perRequest = 500): Promise<void> {
  for (let i = 0; i < records.length; i += perRequest) {
    let pending = records.slice(i, i + perRequest);
    // One record per key per request keeps per-key order whatever fails.
    while (pending.length > 0) {
      const seen = new Set<string>();
      const now: TestRecord[] = [];
      const later: TestRecord[] = [];
      for (const r of pending) {
        if (seen.has(r.key)) later.push(r);
        else {
          seen.add(r.key);
          now.push(r);
        }
      }
      const out = await client.send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: now.map((r) => ({ PartitionKey: r.key, Data: Buffer.from(JSON.stringify(r)) })),
        }),
      );
      const failed = now.filter((_, j) => out.Records?.[j]?.ErrorCode);
      // failed records go first again, keeping their order relative to later ones of the same key
      const failedKeys = new Set(failed.map((r) => r.key));
      pending = [...failed, ...later.filter((r) => failedKeys.has(r.key)), ...later.filter((r) => !failedKeys.has(r.key))];
    }
  }
}

/** Reads every shard from TRIM_HORIZON to its current end; records in shard order. */
export async function readStream(client: KinesisClient, stream: string): Promise<Map<string, _Record[]>> {
  const out = new Map<string, _Record[]>();
  for (const s of await listShards(client, stream)) {
    const recs: _Record[] = [];
    let it = (await client.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: s.ShardId!, ShardIteratorType: 'TRIM_HORIZON' })))
      .ShardIterator;
    while (it) {
      const r = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
      recs.push(...(r.Records ?? []));
      it = r.NextShardIterator;
      if ((r.Records ?? []).length === 0 && (r.MillisBehindLatest ?? 0) === 0) break;
    }
    out.set(s.ShardId!, recs);
  }
  return out;
}

export function decode(data: Uint8Array | Buffer | undefined): TestRecord {
  return JSON.parse(Buffer.from(data ?? new Uint8Array()).toString('utf8')) as TestRecord;
}

/**
 * Checks per-key delivery: every n of every key present, and in order. A
 * value at or below the highest n seen is a duplicate (a replay); counted,
 * and an error unless allowed. Returns the number of duplicates.
 */
export function checkPerKey(delivered: TestRecord[], expected: Map<string, number>, opts: { allowDuplicates?: boolean } = {}): number {
  const max = new Map<string, number>();
  let dups = 0;
  for (const r of delivered) {
    const m = max.get(r.key) ?? -1;
    if (r.n <= m) {
      if (!opts.allowDuplicates) throw new Error(`duplicate ${r.key}#${r.n} (seen up to ${m})`);
      dups++;
      continue;
    }
    if (r.n !== m + 1) throw new Error(`order broken for ${r.key}: got #${r.n} after #${m}`);
    max.set(r.key, r.n);
  }
  for (const [k, count] of expected) {
    const got = (max.get(k) ?? -1) + 1;
    if (got !== count) throw new Error(`key ${k}: delivered ${got} of ${count}`);
  }
  for (const k of max.keys()) if (!expected.has(k)) throw new Error(`unexpected key ${k}`);
  return dups;
}

export function countsOf(records: TestRecord[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) m.set(r.key, Math.max(m.get(r.key) ?? 0, r.n + 1));
  return m;
}

/** An offset store in memory, readable by tasks and the connector. */
export class MemoryOffsets implements OffsetStorageReader {
  readonly data = new Map<string, { partition: SourcePartition; offset: SourceOffset }>();
  private static key(p: SourcePartition): string {
    return JSON.stringify(Object.keys(p).sort().map((k) => [k, p[k]]));
  }
  set(partition: SourcePartition, offset: SourceOffset): void {
    this.data.set(MemoryOffsets.key(partition), { partition: { ...partition }, offset: { ...offset } });
  }
  async offset(partition: SourcePartition): Promise<SourceOffset | null> {
    return this.data.get(MemoryOffsets.key(partition))?.offset ?? null;
  }
  async offsets(partitions: SourcePartition[]): Promise<Map<SourcePartition, SourceOffset>> {
    const out = new Map<SourcePartition, SourceOffset>();
    // Fresh key objects on purpose: callers must not depend on key identity.
    for (const p of partitions) {
      const e = this.data.get(MemoryOffsets.key(p));
      if (e) out.set({ ...e.partition }, e.offset);
    }
    return out;
  }
  snapshot(): MemoryOffsets {
    const m = new MemoryOffsets();
    for (const [k, v] of this.data) m.data.set(k, { partition: { ...v.partition }, offset: { ...v.offset } });
    return m;
  }
}

interface RunningTask {
  task: SourceTask;
  abort: AbortController;
  loop: Promise<void>;
  /** Offsets of produced records not yet stored. */
  pending: Map<string, { partition: SourcePartition; offset: SourceOffset }>;
}

/**
 * Drives a source connector like the runtime: one poll loop per task; each
 * polled batch is appended to `output` (the "topic"), and its offsets are
 * stored every `flushEveryPolls` polls, then passed to `commit()`.
 */
export class SourceRunner {
  readonly output: SourceRecord[] = [];
  readonly errors: Error[] = [];
  connector = new KinesisSourceConnector();
  tasks: RunningTask[] = [];
  reconfigurations = 0;
  private reconfigRequested = false;
  private connectorAbort = new AbortController();
  private supervisor: Promise<void> | undefined;
  private stopped = false;
  /** Extra options for every task this runner creates (e.g. a failing transport). */
  taskOptions: KinesisSourceTaskOptions = {};
  readonly createdTasks: KinesisSourceTask[] = [];

  constructor(
    readonly config: Record<string, string>,
    readonly offsets = new MemoryOffsets(),
    readonly opts: { maxTasks?: number; flushEveryPolls?: number } = {},
  ) {}

  async start(): Promise<void> {
    const ctx: SourceConnectorContext = {
      connectorName: 'kinesis-source-test',
      logger: silentLogger,
      signal: this.connectorAbort.signal,
      offsetReader: this.offsets,
      requestTaskReconfiguration: () => {
        this.reconfigRequested = true;
      },
      raiseError: (err) => this.errors.push(err),
    };
    await this.connector.start(this.config, ctx as ConnectorContext);
    await this.startTasks();
    this.supervisor = this.supervise();
  }

  private async startTasks(): Promise<void> {
    const configs = await this.connector.taskConfigs(this.opts.maxTasks ?? 1);
    this.tasks = [];
    for (let i = 0; i < configs.length; i++) {
      const task = new KinesisSourceTask(this.taskOptions);
      this.createdTasks.push(task);
      const abort = new AbortController();
      await task.start(configs[i], { connectorName: 'kinesis-source-test', taskId: i, logger: silentLogger, offsetReader: this.offsets, signal: abort.signal });
      const rt: RunningTask = { task, abort, pending: new Map(), loop: Promise.resolve() };
      rt.loop = this.pollLoop(rt);
      this.tasks.push(rt);
    }
  }

  private async pollLoop(rt: RunningTask): Promise<void> {
    let polls = 0;
    while (!rt.abort.signal.aborted) {
      let batch: SourceRecord[] | null;
      try {
        batch = await rt.task.poll();
      } catch (err) {
        this.errors.push(err as Error);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (rt.abort.signal.aborted) break; // a crash loses the last batch before it is produced
      for (const r of batch ?? []) {
        this.output.push(r);
        rt.pending.set(JSON.stringify(r.sourcePartition), { partition: r.sourcePartition, offset: r.sourceOffset });
      }
      if (++polls % (this.opts.flushEveryPolls ?? 1) === 0) await this.flush(rt);
    }
  }

  private async flush(rt: RunningTask): Promise<void> {
    if (rt.pending.size === 0) return;
    const committed = [...rt.pending.values()];
    rt.pending.clear();
    for (const c of committed) this.offsets.set(c.partition, c.offset);
    await rt.task.commit?.(committed);
  }

  private async supervise(): Promise<void> {
    while (!this.stopped) {
      await new Promise((r) => setTimeout(r, 50));
      if (this.reconfigRequested && !this.stopped) {
        this.reconfigRequested = false;
        this.reconfigurations++;
        await this.stopTasks(true);
        if (!this.stopped) await this.startTasks();
      }
    }
  }

  private async stopTasks(clean: boolean): Promise<void> {
    for (const rt of this.tasks) rt.abort.abort();
    await Promise.all(this.tasks.map((rt) => rt.loop));
    for (const rt of this.tasks) {
      if (clean) await this.flush(rt);
      await rt.task.stop();
    }
    this.tasks = [];
  }

  /** A clean stop: offsets of everything produced are stored. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.supervisor;
    await this.stopTasks(true);
    this.connectorAbort.abort();
    await this.connector.stop();
  }

  /** A crash: offsets not yet stored are lost (records already produced stay in the output). */
  async crash(): Promise<void> {
    this.stopped = true;
    await this.supervisor;
    await this.stopTasks(false);
    this.connectorAbort.abort();
    await this.connector.stop();
  }

  delivered(): TestRecord[] {
    return this.output.map((r) => decode(r.value as Buffer));
  }
}
