/**
 * Runtime overhead benchmark: DatagenSource -> Kafka and Kafka -> sink
 * (no-op and FileStreamSink) through a real worker, beside the raw kafkajs
 * producer and consumer doing the same work against the same broker in the
 * same run, plus the source with a chain of three transforms.
 *
 *   node --import tsx --conditions=development bench/worker.ts   (BENCH_RECORDS, default 200000)
 *
 * Each phase runs in its own process so its peak RSS is its own. Consumer
 * phases are timed from their first record (group join excluded), producer
 * phases from the start.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { defineConfig, type SinkConnectorPlugin } from '@ferry/core';
import { allPlugins } from '@ferry/connectors';
import { generate } from '@ferry/connectors/datagen';
import { StandaloneWorker, type AnyPlugin } from '@ferry/worker';

const N = Number(process.env.BENCH_RECORDS ?? 200000);
const BROKER = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';
const self = fileURLToPath(import.meta.url);

const NoopSink: SinkConnectorPlugin = {
  type: 'sink',
  className: 'NoopSink',
  version: 'bench',
  config: defineConfig({}),
  create: () => ({
    start() {},
    taskConfigs: () => [{}],
    createTask: () => ({ start: async () => {}, put: async () => {}, stop: async () => {} }),
    stop() {},
  }),
};

function kafka() {
  return new Kafka({ clientId: 'bench', brokers: [BROKER], logLevel: logLevel.NOTHING });
}

async function topicSize(topic: string): Promise<number> {
  const a = kafka().admin();
  await a.connect();
  try {
    if (!(await a.listTopics()).includes(topic)) return 0;
    return (await a.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await a.disconnect();
  }
}

async function until(cond: () => Promise<boolean> | boolean, timeoutMs = 600000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('benchmark phase timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startWorker(dir: string): Promise<StandaloneWorker> {
  return StandaloneWorker.start({
    workerConfig: {
      'bootstrap.servers': BROKER,
      'rest.port': 0,
      'rest.host.name': '127.0.0.1',
      'offset.storage.file.filename': join(dir, 'offsets'),
      'offset.flush.interval.ms': 5000,
      'connectors.dir': '',
      'key.converter': 'StringConverter',
      'value.converter': 'JsonConverter',
      'value.converter.schemas.enable': 'false',
      'log.level': 'WARN',
      'consumer.session.timeout.ms': 10000,
    },
    plugins: [...(allPlugins as AnyPlugin[]), NoopSink],
  });
}

const phases: Record<string, (topic: string) => Promise<number>> = {
  /** Raw kafkajs: the same records, serialized the same way, idempotent, acks=all, batches of 1000. */
  async 'raw-produce'(topic) {
    const p = kafka().producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await p.connect();
    const t0 = performance.now();
    for (let i = 0; i < N; i += 1000) {
      const messages = [];
      for (let j = i; j < Math.min(N, i + 1000); j++) {
        const { key, value } = generate('orders', 0, 1, j);
        messages.push({ key, value: JSON.stringify(value) });
      }
      await p.send({ topic, acks: -1, messages });
    }
    const secs = (performance.now() - t0) / 1000;
    await p.disconnect();
    return secs;
  },
  async 'worker-source'(topic) {
    return sourcePhase(topic, {});
  },
  async 'worker-source-3-transforms'(topic) {
    return sourcePhase(topic, {
      transforms: 'stamp,rename,mask',
      'transforms.stamp.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
      'transforms.stamp.static.field': 'origin',
      'transforms.stamp.static.value': 'bench',
      'transforms.rename.type': 'org.apache.kafka.connect.transforms.ReplaceField$Value',
      'transforms.rename.renames': 'itemid:item',
      'transforms.mask.type': 'org.apache.kafka.connect.transforms.MaskField$Value',
      'transforms.mask.fields': 'orderunits',
    });
  },
  /** Raw kafkajs consumer: read and parse every value (what the JSON converter does). */
  async 'raw-consume'(topic) {
    const c = kafka().consumer({ groupId: `bench-raw-${Date.now()}`, maxBytesPerPartition: 4 * 1024 * 1024, maxWaitTimeInMs: 250 });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    let n = 0;
    let t0 = 0;
    await c.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        t0 ||= performance.now();
        for (const m of batch.messages) {
          // What the converters do: key as a string, value parsed.
          if (m.key) m.key.toString();
          if (m.value) JSON.parse(m.value.toString());
          n++;
        }
      },
    });
    await until(() => n >= N);
    const secs = (performance.now() - t0) / 1000;
    await c.disconnect();
    return secs;
  },
  /** Raw kafkajs consumer doing what FileStreamSink does: parse, write each value as a line, fsync. */
  async 'raw-consume-file'(topic) {
    const { openSync, writeSync, fsyncSync, closeSync } = await import('node:fs');
    const fd = openSync(join(mkdtempSync(join(tmpdir(), 'bench-')), 'raw.jsonl'), 'a');
    const c = kafka().consumer({ groupId: `bench-raw-file-${Date.now()}`, maxBytesPerPartition: 4 * 1024 * 1024, maxWaitTimeInMs: 250 });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    let n = 0;
    let t0 = 0;
    await c.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        t0 ||= performance.now();
        let text = '';
        for (const m of batch.messages) {
          text += JSON.stringify(m.value ? JSON.parse(m.value.toString()) : null) + '\n';
          n++;
        }
        writeSync(fd, text);
        fsyncSync(fd);
      },
    });
    await until(() => n >= N);
    const secs = (performance.now() - t0) / 1000;
    await c.disconnect();
    closeSync(fd);
    return secs;
  },
  async 'worker-sink-noop'(topic) {
    return sinkPhase(topic, 'NoopSink', {});
  },
  async 'worker-sink-file'(topic) {
    const file = join(mkdtempSync(join(tmpdir(), 'bench-')), 'out.jsonl');
    // put() writes synchronously, so records handed to put() are in the file (re-reading the file to count would cost more than the sink).
    return sinkPhase(topic, 'FileStreamSink', { file });
  },
};

async function sourcePhase(topic: string, extra: Record<string, string>): Promise<number> {
  const w = await startWorker(mkdtempSync(join(tmpdir(), 'bench-')));
  const t0 = performance.now();
  await w.herder.create('bench-src', {
    'connector.class': 'DatagenSource',
    'kafka.topic': topic,
    quickstart: 'orders',
    iterations: String(N),
    'max.interval': '0',
    'batch.size': '1000',
    ...extra,
  });
  await until(async () => (await topicSize(topic)) >= N);
  const secs = (performance.now() - t0) / 1000;
  await w.stop();
  return secs;
}

async function sinkPhase(topic: string, cls: string, extra: Record<string, string>): Promise<number> {
  const w = await startWorker(mkdtempSync(join(tmpdir(), 'bench-')));
  await w.herder.create(`bench-sink-${Date.now()}`, { 'connector.class': cls, topics: topic, ...extra });
  const read = async () => (await w.metrics.sinkRecordRead.get()).values.reduce((s, v) => s + v.value, 0);
  const sent = async () => (await w.metrics.sinkRecordSend.get()).values.reduce((s, v) => s + v.value, 0);
  // Like the raw consumers, the clock starts at the first record (group join and startup excluded).
  await until(async () => (await read()) > 0);
  const t0 = performance.now() - 0;
  await until(async () => (await sent()) >= N);
  const secs = (performance.now() - t0) / 1000;
  await w.stop();
  return secs;
}

if (process.argv[2] === 'phase') {
  const [, , , name, topic] = process.argv;
  const secs = await phases[name!]!(topic!);
  const rss = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ secs, rss }) + '\n');
  process.exit(0);
} else {
  const only = process.env.BENCH_PHASES?.split(',');
  const runPhase = (name: string, topic: string) => {
    if (only && !only.includes(name) && !name.startsWith('worker-source') && name !== 'raw-produce') return NaN;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=development', self, 'phase', name, topic], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
    const { secs, rss } = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const rate = N / secs;
    console.log(`${name.padEnd(28)} ${Math.round(rate).toString().padStart(9)} records/s   peak RSS ${Math.round(rss)} MiB`);
    return rate;
  };
  const run = `${Date.now().toString(36)}`;
  console.log(`${N} records per phase, broker ${BROKER}`);
  const rawProduce = runPhase('raw-produce', `bench-raw-${run}`);
  const workerSource = runPhase('worker-source', `bench-src-${run}`);
  const withTransforms = runPhase('worker-source-3-transforms', `bench-tx-${run}`);
  const rawConsume = runPhase('raw-consume', `bench-src-${run}`);
  const noop = runPhase('worker-sink-noop', `bench-src-${run}`);
  const rawFile = runPhase('raw-consume-file', `bench-src-${run}`);
  const file = runPhase('worker-sink-file', `bench-src-${run}`);
  console.log('');
  console.log(`source (Datagen -> Kafka) / raw producer:        ${(workerSource / rawProduce).toFixed(2)}`);
  console.log(`source + 3 transforms / source without:          ${(withTransforms / workerSource).toFixed(2)}`);
  console.log(`no-op sink (Kafka -> worker) / raw consumer:     ${(noop / rawConsume).toFixed(2)}`);
  console.log(`FileStreamSink / raw consumer writing the file:  ${(file / rawFile).toFixed(2)}`);
}
