/**
 * The same pipeline over both backbones, in one run:
 * DatagenSource -> backbone (Kafka | Kinesis) -> no-op sink, in one worker.
 *
 *   npm run bench:backbones
 *   BENCH_RECORDS=100000        records of the Kafka maximum-throughput phase
 *   BENCH_KINESIS_RECORDS=3000  records of the Kinesis maximum-throughput phase
 *   BENCH_RATE=200              fixed offered load of the side-by-side phase (records/s)
 *   BENCH_SECONDS=20            measured seconds of each paced phase (after 5 s of warm-up)
 *
 * Phases (each in its own process):
 * 1. maximum throughput: DatagenSource with max.interval=0 (as fast as the
 *    pipeline takes records), records/s from the source's start to the last put();
 * 2. Kafka at half of its measured maximum;
 * 3. both backbones at the same fixed offered load (BENCH_RATE).
 * Paced phases use DatagenSource's own generator behind a pacer (DatagenSource
 * paces per record with a whole-millisecond sleep, so it cannot offer an
 * arbitrary rate): records are emitted in 10 ms slices, each stamped with its
 * scheduled emission time, so a pipeline that falls behind shows its backlog
 * in the latency. Latency = put() time minus that timestamp (one process, one
 * clock). CPU = user + system time of the worker process (source, sink and the
 * backbone clients; not the broker or the emulator) per million records.
 *
 * The Kinesis figures come from kinesis-local, an emulator on this machine:
 * it bounds nothing about AWS throughput (shard limits 1 MB/s or 1000
 * records/s in, 2 MB/s out, 5 GetRecords/s per shard are not enforced the
 * same way, and the emulator itself is far slower than a shard on PutRecords)
 * nor AWS network latency. What it does bound is the worker's own cost per
 * record on this backbone and the latency added by its polling
 * (kinesis.poll.interval.ms, 200 ms as AWS's 5 reads/s per shard imposes).
 */
import { spawnSync } from 'node:child_process';
import { DeleteStreamCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { abortableSleep, defineConfig, Config, type SinkConnectorPlugin, type SinkRecord, type SourceConnectorPlugin, type SourceRecord, type SourceTaskContext } from '@ferry/core';
import { allPlugins } from '@ferry/connectors';
import { datagenSchemas, generate } from '@ferry/connectors/datagen';
import { StandaloneWorker, type AnyPlugin } from '@ferry/worker';

const BROKER = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';
const KINESIS = process.env.KINESIS_ENDPOINT ?? 'http://127.0.0.1:4568';
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const WARMUP_S = 5;
const self = fileURLToPath(import.meta.url);

/** put() times minus record timestamps, of records stamped inside the measured window. */
const latencies: number[] = [];
let putCount = 0;
let window: { from: number; to: number } = { from: 0, to: Infinity };

const NoopSink: SinkConnectorPlugin = {
  type: 'sink',
  className: 'NoopSink',
  version: 'bench',
  config: defineConfig({}),
  create: () => ({
    start() {},
    taskConfigs: (n: number) => Array.from({ length: n }, () => ({})),
    createTask: () => ({
      start: async () => {},
      put: async (records: SinkRecord[]) => {
        const now = Date.now();
        for (const r of records) {
          putCount++;
          const ts = r.timestamp ?? 0;
          if (ts >= window.from && ts < window.to) latencies.push(now - ts);
        }
      },
      stop: async () => {},
    }),
    stop() {},
  }),
};

const PacedConfig = defineConfig({
  'kafka.topic': Config.string({ doc: 'topic', nonEmpty: true }),
  rate: Config.double({ doc: 'records/s', min: 1 }),
  seconds: Config.double({ doc: 'how long to emit', min: 1 }),
});

/** DatagenSource's `orders` generator behind a pacer: `rate` records/s for `seconds`, stamped with their scheduled time. */
const PacedDatagen: SourceConnectorPlugin = {
  type: 'source',
  className: 'PacedDatagen',
  version: 'bench',
  config: PacedConfig,
  create: () => {
    let cfg: Record<string, string> = {};
    return {
      start(c: Record<string, string>) {
        cfg = c;
      },
      taskConfigs: () => [cfg],
      createTask: () => {
        let ctx: SourceTaskContext;
        let c: ReturnType<typeof PacedConfig.parse>;
        let t0 = 0;
        let next = 0;
        return {
          async start(config: Record<string, string>, context: SourceTaskContext) {
            c = PacedConfig.parse(config);
            ctx = context;
            t0 = Date.now();
          },
          async poll(): Promise<SourceRecord[]> {
            const total = Math.floor(c.rate * c.seconds);
            if (next >= total) {
              await abortableSleep(200, ctx.signal);
              return [];
            }
            // at most 1000 per poll, as DatagenSource's batch.size
            const due = Math.min(total, next + 1000, Math.floor(((Date.now() - t0) / 1000) * c.rate));
            if (due <= next) {
              await abortableSleep(10, ctx.signal);
              return [];
            }
            const out: SourceRecord[] = [];
            const { key: keySchema, value: valueSchema } = datagenSchemas.orders;
            for (; next < due; next++) {
              const { key, value } = generate('orders', 0, 1, next);
              out.push({
                topic: c['kafka.topic'],
                keySchema,
                key,
                valueSchema,
                value,
                timestamp: t0 + Math.floor((next * 1000) / c.rate),
                sourcePartition: { task: 0 },
                sourceOffset: { position: next + 1 },
              });
            }
            return out;
          },
          async stop() {},
        };
      },
      stop() {},
    };
  },
};

async function until(cond: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function workerConfig(backbone: string, dir: string): Record<string, unknown> {
  const common = {
    'rest.port': 0,
    'rest.host.name': '127.0.0.1',
    'offset.storage.file.filename': join(dir, 'offsets'),
    'offset.flush.interval.ms': 5000,
    'connectors.dir': '',
    'key.converter': 'StringConverter',
    'value.converter': 'JsonConverter',
    'value.converter.schemas.enable': 'false',
    'log.level': 'WARN',
  };
  if (backbone === 'kafka') return { ...common, 'bootstrap.servers': BROKER, 'consumer.session.timeout.ms': 10000 };
  return {
    ...common,
    backbone: 'kinesis',
    'bootstrap.servers': '127.0.0.1:1',
    'kinesis.endpoint': KINESIS,
    'kinesis.access.key.id': 'bench',
    'kinesis.secret.access.key': 'bench',
    'kinesis.stream.prefix': 'bench-',
    'kinesis.coordination.redis.url': REDIS,
    'kinesis.shard.sync.interval.ms': 1000,
  };
}

interface PhaseResult {
  records: number;
  secs: number;
  rate: number;
  p50?: number;
  p95?: number;
  p99?: number;
  cpuPerM: number;
  missing?: number;
}

/** The Kinesis stream, and the sink's leases and checkpoints in Redis, are of no use after the run. */
async function forgetGroup(w: StandaloneWorker, backbone: string, topic: string): Promise<void> {
  if (backbone !== 'kinesis') return;
  await w.backbone.admin().deleteGroup('connect-sink').catch(() => undefined);
  const client = new KinesisClient({
    region: 'us-east-1',
    endpoint: KINESIS,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    requestHandler: new NodeHttpHandler(),
  });
  await client.send(new DeleteStreamCommand({ StreamName: `bench-${topic}`, EnforceConsumerDeletion: true })).catch(() => undefined);
  client.destroy();
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Datagen as fast as the pipeline takes it: records/s from the source's start to the N-th put(). */
async function maxPhase(backbone: string, n: number): Promise<PhaseResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bb-'));
  const w = await StandaloneWorker.start({ workerConfig: workerConfig(backbone, dir), plugins: [...(allPlugins as AnyPlugin[]), NoopSink, PacedDatagen] });
  const topic = `max-${backbone}-${Date.now().toString(36)}`;
  await w.backbone.admin().ensureTopics([{ topic, numPartitions: 2 }]);
  await w.herder.create('sink', { 'connector.class': 'NoopSink', topics: topic });
  await until(() => w.herder.status('sink').tasks.every((t) => t.state === 'RUNNING'), 60000);
  await abortableSleep(3000); // the sink has its partitions/leases before the first record
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await w.herder.create('src', { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', iterations: String(n), 'max.interval': '0', 'batch.size': '1000' });
  const done = await until(() => putCount >= n, 900000);
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await forgetGroup(w, backbone, topic);
  await w.stop();
  return { records: putCount, secs, rate: putCount / secs, cpuPerM: ((cpu.user + cpu.system) / 1e6 / putCount) * 1e6, missing: done ? 0 : n - putCount };
}

/** `rate` records/s for BENCH_SECONDS (+ warm-up): throughput and latency of the records stamped in the measured window. */
async function pacedPhase(backbone: string, rate: number, seconds: number): Promise<PhaseResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bb-'));
  const w = await StandaloneWorker.start({ workerConfig: workerConfig(backbone, dir), plugins: [...(allPlugins as AnyPlugin[]), NoopSink, PacedDatagen] });
  const topic = `paced-${backbone}-${Date.now().toString(36)}`;
  await w.backbone.admin().ensureTopics([{ topic, numPartitions: 2 }]);
  await w.herder.create('sink', { 'connector.class': 'NoopSink', topics: topic });
  await until(() => w.herder.status('sink').tasks.every((t) => t.state === 'RUNNING'), 60000);
  await abortableSleep(3000);
  const start = Date.now();
  window = { from: start + WARMUP_S * 1000, to: start + (WARMUP_S + seconds) * 1000 };
  await w.herder.create('src', { 'connector.class': 'PacedDatagen', 'kafka.topic': topic, rate: String(rate), seconds: String(WARMUP_S + seconds) });
  await until(() => Date.now() >= window.from, 60000);
  const cpu0 = process.cpuUsage();
  const put0 = putCount;
  await until(() => Date.now() >= window.to, 600000);
  const cpu = process.cpuUsage(cpu0);
  const putInWindow = putCount - put0;
  const expected = Math.floor(rate * seconds);
  // the records stamped in the window may still be on their way
  await until(() => latencies.length >= expected, 60000);
  await forgetGroup(w, backbone, topic);
  await w.stop();
  const sorted = latencies.slice().sort((a, b) => a - b);
  return {
    records: latencies.length,
    secs: seconds,
    rate: putInWindow / seconds,
    p50: pct(sorted, 50),
    p95: pct(sorted, 95),
    p99: pct(sorted, 99),
    cpuPerM: ((cpu.user + cpu.system) / 1e6 / Math.max(1, putInWindow)) * 1e6,
    missing: Math.max(0, expected - latencies.length),
  };
}

function fmt(name: string, r: PhaseResult): string {
  const lat = r.p50 === undefined ? '' : `   p50 ${r.p50} ms  p95 ${r.p95} ms  p99 ${r.p99} ms`;
  const miss = r.missing ? `   (${r.missing} records late or missing)` : '';
  return `${name.padEnd(34)} ${Math.round(r.rate).toString().padStart(7)} records/s${lat}   CPU ${r.cpuPerM.toFixed(1)} s per million records${miss}`;
}

if (process.argv[2] === 'phase') {
  const [, , , kind, backbone, a, b] = process.argv;
  const r = kind === 'max' ? await maxPhase(backbone!, Number(a)) : await pacedPhase(backbone!, Number(a), Number(b));
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
} else {
  const N = Number(process.env.BENCH_RECORDS ?? 100000);
  const NK = Number(process.env.BENCH_KINESIS_RECORDS ?? 3000);
  const RATE = Number(process.env.BENCH_RATE ?? 200);
  const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
  const phase = (...args: string[]): PhaseResult => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=development', self, 'phase', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`phase ${args.join(' ')} failed: ${r.stderr.slice(-4000)}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as PhaseResult;
  };
  console.log(`DatagenSource -> backbone -> no-op sink, one worker; Kafka ${BROKER}, Kinesis ${KINESIS} (kinesis-local emulator), 2 partitions / 2 shards`);
  const kMax = phase('max', 'kafka', String(N));
  console.log(fmt(`kafka   max (${N} records)`, kMax));
  const kinMax = phase('max', 'kinesis', String(NK));
  console.log(fmt(`kinesis max (${NK} records)`, kinMax));
  const half = Math.max(1, Math.round(kMax.rate / 2));
  const kHalf = phase('paced', 'kafka', String(half), String(SECONDS));
  console.log(fmt(`kafka   at ${half}/s (half of max)`, kHalf));
  const kFixed = phase('paced', 'kafka', String(RATE), String(SECONDS));
  console.log(fmt(`kafka   at ${RATE}/s`, kFixed));
  const kinFixed = phase('paced', 'kinesis', String(RATE), String(SECONDS));
  console.log(fmt(`kinesis at ${RATE}/s`, kinFixed));
  console.log('');
  console.log(`Kafka target p99 < 500 ms at half of the maximum: ${kHalf.p99! < 500 && !kHalf.missing ? 'met' : 'NOT met'} (p99 ${kHalf.p99} ms)`);
  console.log(`At ${RATE}/s: Kinesis p99 / Kafka p99 = ${(kinFixed.p99! / Math.max(1, kFixed.p99!)).toFixed(1)}; CPU per record Kinesis / Kafka = ${(kinFixed.cpuPerM / kFixed.cpuPerM).toFixed(2)}`);
  console.log('Kinesis figures come from the kinesis-local emulator on this machine: they bound the worker\'s own cost and polling latency on this backbone, not AWS throughput, shard limits or network latency.');
}
