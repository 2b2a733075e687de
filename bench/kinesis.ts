/**
 * Kinesis connector throughput against the local emulator, beside raw SDK
 * loops doing the same work in the same run (the emulator is the ceiling):
 *
 *   write: KinesisSinkTask (put/flush as the runtime drives it)  vs  raw PutRecords (500/request, 4 in flight)
 *   read:  KinesisSourceTask (poll loop, all shards, 5 calls/s/shard)  vs  raw GetRecords (all shards, back to back)
 *
 * BENCH_RECORDS records (default 10000), keys over 1000 values, ~200-byte
 * JSON values, a 4-shard stream. Each phase runs in its own child process so
 * its peak RSS is its own, BENCH_ROUNDS times (default 2) with the order
 * alternating. Prints records/s, peak RSS and the ratios of the best runs.
 *
 *   node --import tsx --conditions=development bench/kinesis.ts
 *   BENCH_RECORDS=50000 KINESIS_ENDPOINT=http://127.0.0.1:4568 node --import tsx --conditions=development bench/kinesis.ts
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { silentLogger, type SinkRecord, type SourceOffset, type SourcePartition } from '@ferry/core';
import { KinesisSinkTask, KinesisSourceConnector, KinesisSourceTask } from '@ferry/connectors/kinesis';

const ENDPOINT = process.env.KINESIS_ENDPOINT ?? 'http://127.0.0.1:4568';
const N = Number(process.env.BENCH_RECORDS ?? 10_000);
const SHARDS = Number(process.env.BENCH_SHARDS ?? 4);
const KEYS = 1000;
const PUT_BATCH = 500;
const IN_FLIGHT = Number(process.env.BENCH_RAW_IN_FLIGHT ?? 4); // the sink's max.in.flight.requests default
const READ_LIMIT = 10_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

const conn = {
  'kinesis.region': 'us-east-1',
  'kinesis.endpoint': ENDPOINT,
  'aws.access.key.id': 'bench',
  'aws.secret.access.key': 'bench',
};

function client(): KinesisClient {
  return new KinesisClient({
    region: 'us-east-1',
    endpoint: ENDPOINT,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
  });
}

function value(i: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      id: i,
      customer: `customer-${i % 9973}`,
      amount: (i % 10_000) / 100,
      status: i % 7 === 0 ? 'refunded' : 'paid',
      created_at: new Date(1_700_000_000_000 + i * 1000).toISOString(),
      address: { city: `city-${i % 101}`, zip: String(10_000 + (i % 89_999)) },
    }),
  );
}
const keyOf = (i: number): string => `key-${i % KEYS}`;

class RssPeak {
  peak = 0;
  private t = setInterval(() => this.sample(), 20);
  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }
  stop(): number {
    clearInterval(this.t);
    this.sample();
    return this.peak;
  }
}

// ---- phases (each in a child process) -------------------------------------------

async function rawPut(stream: string): Promise<number> {
  const c = client();
  let next = 0;
  let sent = 0;
  // A fixed pool of senders, each retrying its failed entries: the plain SDK way.
  const worker = async () => {
    while (next < N) {
      const start = next;
      next = Math.min(N, next + PUT_BATCH);
      let entries: PutRecordsRequestEntry[] = [];
      for (let i = start; i < next; i++) entries.push({ PartitionKey: keyOf(i), Data: value(i) });
      while (entries.length) {
        try {
          const out = await c.send(new PutRecordsCommand({ StreamName: stream, Records: entries }));
          const failed = entries.filter((_, j) => out.Records?.[j]?.ErrorCode);
          sent += entries.length - failed.length;
          entries = failed;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  c.destroy();
  return sent;
}

async function sinkPut(stream: string): Promise<number> {
  const task = new KinesisSinkTask();
  await task.start(
    { ...conn, 'kinesis.stream': stream, topics: 'bench' },
    { connectorName: 'bench', taskId: 0, logger: silentLogger, signal: new AbortController().signal, assignment: () => [], pause() {}, resume() {}, requestCommit() {}, offset() {} },
  );
  const partitions = 4;
  for (let start = 0; start < N; start += PUT_BATCH) {
    const batch: SinkRecord[] = [];
    for (let i = start; i < Math.min(N, start + PUT_BATCH); i++) {
      batch.push({ topic: 'bench', kafkaPartition: i % partitions, kafkaOffset: Math.floor(i / partitions), key: keyOf(i), value: value(i) });
    }
    await task.put(batch);
  }
  await task.flush([]);
  const sent = task.metrics().recordsSent;
  await task.stop();
  return sent;
}

async function rawGet(stream: string): Promise<number> {
  const c = client();
  const shards = (await c.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  let total = 0;
  // Every shard read back to back; done once N records arrived (the same stop rule as the source phase).
  await Promise.all(
    shards.map(async (s) => {
      let it = (await c.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: s.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
      while (it && total < N) {
        const out = await c.send(new GetRecordsCommand({ ShardIterator: it, Limit: READ_LIMIT }));
        total += out.Records?.length ?? 0;
        it = out.NextShardIterator;
        if ((out.Records?.length ?? 0) === 0 && (out.MillisBehindLatest ?? 0) === 0) break;
      }
    }),
  );
  c.destroy();
  return total;
}

async function sourceGet(stream: string): Promise<number> {
  const none = { offset: async () => null, offsets: async () => new Map<SourcePartition, SourceOffset>() };
  const connector = new KinesisSourceConnector();
  const abort = new AbortController();
  const config = { ...conn, 'kinesis.stream': stream, 'kafka.topic': 'bench', 'kinesis.record.limit': String(READ_LIMIT), 'kinesis.empty.records.backoff.ms': '200' };
  await connector.start(config, { connectorName: 'bench', logger: silentLogger, signal: abort.signal, requestTaskReconfiguration() {}, raiseError() {}, offsetReader: none } as never);
  const [taskConfig] = await connector.taskConfigs(1);
  const task = new KinesisSourceTask();
  await task.start(taskConfig, { connectorName: 'bench', taskId: 0, logger: silentLogger, offsetReader: none, signal: abort.signal });
  let n = 0;
  while (n < N) n += (await task.poll()).length;
  await task.stop();
  abort.abort();
  await connector.stop();
  return n;
}

const phases = { 'raw-put': rawPut, 'sink-put': sinkPut, 'raw-get': rawGet, 'source-get': sourceGet } as const;
type Phase = keyof typeof phases;

async function child(phase: Phase, stream: string): Promise<void> {
  const rss = new RssPeak();
  const t0 = process.hrtime.bigint();
  const records = await phases[phase](stream);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ phase, records, seconds, rss: rss.stop() }) + '\n');
}

// ---- the parent ---------------------------------------------------------------------

interface Result {
  phase: Phase;
  records: number;
  seconds: number;
  rss: number;
}

function runChild(phase: Phase, stream: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), phase, stream], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`${phase} exited with ${code}: ${out}`));
      else resolve(JSON.parse(line) as Result);
    });
  });
}

async function createStream(c: KinesisClient, name: string): Promise<void> {
  await c.send(new CreateStreamCommand({ StreamName: name, ShardCount: SHARDS }));
  for (;;) {
    const d = await c.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const c = client();
  const run = randomBytes(3).toString('hex');
  const streams: string[] = [];
  const fresh = async (label: string) => {
    const name = `bench-${label}-${run}-${streams.length}`;
    streams.push(name);
    await createStream(c, name);
    return name;
  };
  try {
    const results: Result[] = [];
    const report = (r: Result) => {
      results.push(r);
      console.log(`${r.phase.padEnd(11)} ${r.records} records in ${r.seconds.toFixed(2)} s = ${Math.round(r.records / r.seconds)} records/s, peak RSS ${Math.round(r.rss / 1024 / 1024)} MiB`);
    };
    // Rounds alternate which side goes first; writes go to fresh streams, reads share the first raw-written one.
    let readStream: string | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      const writes: Phase[] = round % 2 === 0 ? ['raw-put', 'sink-put'] : ['sink-put', 'raw-put'];
      for (const phase of writes) {
        const stream = await fresh(phase);
        report(await runChild(phase, stream));
        if (phase === 'raw-put') readStream ??= stream;
      }
      const reads: Phase[] = round % 2 === 0 ? ['raw-get', 'source-get'] : ['source-get', 'raw-get'];
      for (const phase of reads) report(await runChild(phase, readStream!));
    }
    const best = (p: Phase) => results.filter((x) => x.phase === p).reduce((b, r) => (r.records / r.seconds > b.records / b.seconds ? r : b));
    const rate = (p: Phase) => best(p).records / best(p).seconds;
    const mib = (p: Phase) => Math.round(Math.max(...results.filter((x) => x.phase === p).map((x) => x.rss)) / 1024 / 1024);
    console.log(`\nKinesis emulator at ${ENDPOINT}, ${N} records, ${SHARDS} shards, best of ${ROUNDS} round(s)`);
    console.log(`write: KinesisSinkTask ${Math.round(rate('sink-put'))}/s (peak ${mib('sink-put')} MiB) / raw PutRecords ${Math.round(rate('raw-put'))}/s (peak ${mib('raw-put')} MiB) = ${(rate('sink-put') / rate('raw-put')).toFixed(2)}`);
    console.log(`read:  KinesisSourceTask ${Math.round(rate('source-get'))}/s (peak ${mib('source-get')} MiB) / raw GetRecords ${Math.round(rate('raw-get'))}/s (peak ${mib('raw-get')} MiB) = ${(rate('source-get') / rate('raw-get')).toFixed(2)}`);
  } finally {
    for (const s of streams) await c.send(new DeleteStreamCommand({ StreamName: s })).catch(() => undefined);
    c.destroy();
  }
}

const [phaseArg, streamArg] = process.argv.slice(2);
if (phaseArg) await child(phaseArg as Phase, streamArg!);
else await main();
