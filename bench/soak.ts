/**
 * Soak: a steady pipeline (DatagenSource -> Kafka -> FileStreamSink) through a
 * real worker process for SOAK_MINUTES (default 20). Every SOAK_SAMPLE_SECONDS
 * (default 10) it samples the worker's RSS and event-loop lag (from its
 * /metrics) and the sink's consumer lag (end offsets minus committed offsets),
 * prints them as a table, and judges each series flat when the last quarter's
 * mean is within 10% of the second quarter's (the first quarter is warm-up).
 *
 *   npm run bench:soak                 # 20 minutes
 *   SOAK_MINUTES=3 npm run bench:soak  # shortened
 *
 * Exits 1 when RSS is not flat (a leak); lag verdicts are reported.
 */
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { readLines, startWorker, uniqueName } from '../test/harness/index.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 20);
const SAMPLE_S = Number(process.env.SOAK_SAMPLE_SECONDS ?? 10);
const RATE_INTERVAL_MS = process.env.SOAK_MAX_INTERVAL_MS ?? '2';
const BROKER = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';

interface Sample {
  t: number;
  rssMiB: number;
  heapMiB: number;
  lagP99Ms: number;
  consumerLag: number;
  written: number;
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([-+\\deE.]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Flat when the last quarter's mean is within 10% of the second quarter's (absolute floor for near-zero series). */
export function flatness(values: number[], floor: number): { q2: number; q4: number; flat: boolean } {
  const q = Math.floor(values.length / 4);
  const q2 = mean(values.slice(q, 2 * q));
  const q4 = mean(values.slice(values.length - q));
  return { q2, q4, flat: Math.abs(q4 - q2) <= Math.max(0.1 * q2, floor) };
}

async function main(): Promise<void> {
  const kafka = new Kafka({ clientId: 'soak', brokers: [BROKER], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueName('soak');
  const w = await startWorker({ workerConfig: { 'value.converter.schemas.enable': 'false', 'offset.flush.interval.ms': 2000 } });
  const out = join(w.dir, 'soak.jsonl');
  const r1 = await w.request('POST', '/connectors', {
    name: `${topic}-src`,
    config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', 'max.interval': RATE_INTERVAL_MS, 'tasks.max': '1' },
  });
  const r2 = await w.request('POST', '/connectors', { name: `${topic}-sink`, config: { 'connector.class': 'FileStreamSink', topics: topic, file: out } });
  if (r1.status !== 201 || r2.status !== 201) throw new Error(`creating the pipeline failed: ${JSON.stringify([r1.body, r2.body])}`);
  await w.waitForRunning(`${topic}-src`);
  await w.waitForRunning(`${topic}-sink`);

  const samples: Sample[] = [];
  const started = Date.now();
  const end = started + MINUTES * 60_000;
  console.log(`soak: ${MINUTES} min, a sample every ${SAMPLE_S} s, DatagenSource (max.interval ${RATE_INTERVAL_MS} ms) -> ${topic} -> FileStreamSink`);
  console.log('    t(s) |  RSS MiB | heap used MiB | loop lag p99 ms | consumer lag | records written');
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, SAMPLE_S * 1000));
    const text = await (await fetch(`${w.url}/metrics`)).text();
    const high = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
    const done = (await admin.fetchOffsets({ groupId: `connect-${topic}-sink`, topics: [topic] })).flatMap((t) => t.partitions).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    const s: Sample = {
      t: Math.round((Date.now() - started) / 1000),
      rssMiB: metric(text, 'ferry_process_resident_memory_bytes') / 2 ** 20,
      heapMiB: metric(text, 'ferry_nodejs_heap_size_used_bytes') / 2 ** 20,
      lagP99Ms: metric(text, 'ferry_nodejs_eventloop_lag_p99_seconds') * 1000,
      consumerLag: high - done,
      written: readLines(out).length,
    };
    samples.push(s);
    console.log(
      `${String(s.t).padStart(8)} | ${s.rssMiB.toFixed(1).padStart(8)} | ${s.heapMiB.toFixed(1).padStart(13)} | ${s.lagP99Ms.toFixed(1).padStart(15)} | ${String(s.consumerLag).padStart(12)} | ${String(s.written).padStart(15)}`,
    );
  }
  await w.stop();
  await admin.disconnect();

  if (samples.length < 8) {
    console.log(`only ${samples.length} samples: too few to judge flatness (run longer)`);
    return;
  }
  const rss = flatness(samples.map((s) => s.rssMiB), 5);
  const heap = flatness(samples.map((s) => s.heapMiB), 5);
  const loop = flatness(samples.map((s) => s.lagP99Ms), 5);
  const lag = flatness(samples.map((s) => s.consumerLag), 2000);
  const rate = (samples[samples.length - 1]!.written - samples[0]!.written) / Math.max(1, samples[samples.length - 1]!.t - samples[0]!.t);
  const line = (n: string, f: ReturnType<typeof flatness>, unit: string) =>
    `${n.padEnd(16)} 2nd quarter ${f.q2.toFixed(1)} ${unit}, last quarter ${f.q4.toFixed(1)} ${unit}: ${f.flat ? 'flat' : 'NOT flat'}`;
  console.log(line('RSS', rss, 'MiB'));
  console.log(line('heap used', heap, 'MiB'));
  console.log(line('event-loop lag', loop, 'ms (p99)'));
  console.log(line('consumer lag', lag, 'records'));
  console.log(`throughput       ${rate.toFixed(0)} records/s written by the sink`);
  if (!rss.flat) process.exitCode = 1;
}

await main();
