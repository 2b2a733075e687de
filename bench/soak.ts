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
 *   SOAK_NODE_FLAGS= npm run bench:soak  # the worker without the launchers' Node.js flags
 *
 * The worker runs with the Node.js flags every launcher sets
 * (--max-semi-space-size=8, see packages/worker/bin/connect-worker.mjs).
 * Besides RSS the table splits memory into V8's heap (young generation
 * reserved, old space used), external memory and the ArrayBuffers in it, so
 * a step in RSS can be told apart: young-generation sizing, a JS leak, retained
 * Buffers, or native (malloc) memory; at the end the largest anonymous
 * mappings are listed.
 *
 * Exits 1 when RSS is not flat (a leak); lag verdicts are reported.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { readLines, startWorker, uniqueName } from '../test/harness/index.js';
import { WORKER_NODE_FLAGS } from '../test/harness/worker.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 20);
const SAMPLE_S = Number(process.env.SOAK_SAMPLE_SECONDS ?? 10);
const RATE_INTERVAL_MS = process.env.SOAK_MAX_INTERVAL_MS ?? '2';
/** The worker's Node.js flags: the launchers' (WORKER_NODE_FLAGS) unless SOAK_NODE_FLAGS is set ('' = none, Node.js defaults). */
const NODE_FLAGS = process.env.SOAK_NODE_FLAGS !== undefined ? process.env.SOAK_NODE_FLAGS.split(' ').filter(Boolean) : WORKER_NODE_FLAGS;
const BROKER = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';

interface Sample {
  t: number;
  rssMiB: number;
  /** RssAnon of /proc/<pid>/status: heap, malloc arenas, JIT code; the rest of RSS is mapped files. */
  anonMiB: number;
  heapTotalMiB: number;
  heapMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
  codeMiB: number;
  /** V8 young generation (new space) reserved: two semi-spaces. */
  newTotalMiB: number;
  oldUsedMiB: number;
  lagP99Ms: number;
  consumerLag: number;
  written: number;
}

function labelled(text: string, name: string, label: string): number {
  const m = new RegExp(`^${name}\\{[^}]*${label}[^}]*\\} ([-+\\deE.]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

const f = (v: number, w: number) => v.toFixed(1).padStart(w);

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([-+\\deE.]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

function procStatusMiB(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Where the worker's anonymous memory sits at the end: the largest anonymous
 * mappings of /proc/<pid>/smaps by resident size. glibc malloc arenas of
 * threads show as many mappings within 64 MiB regions, V8's heap as its own.
 */
function anonymousMappings(pid: number): string {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return 'smaps: unreadable';
  }
  const maps: { range: string; name: string; sizeKb: number; rssKb: number }[] = [];
  for (const block of text.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const head = block.split('\n')[0]!.split(/\s+/);
    const name = head[5] ?? '';
    if (name && name !== '[heap]' && !name.startsWith('[anon')) continue;
    const num = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(block)?.[1] ?? 0);
    maps.push({ range: head[0]!, name: name || 'anon', sizeKb: num('Size'), rssKb: num('Rss') });
  }
  maps.sort((a, b) => b.rssKb - a.rssKb);
  const total = maps.reduce((n, m) => n + m.rssKb, 0) / 1024;
  const arenas = maps.filter((m) => m.name === 'anon' && m.sizeKb >= 1024 && m.sizeKb <= 65536 && m.rssKb > 0).length;
  return [
    `anonymous memory at the end: ${total.toFixed(1)} MiB resident in ${maps.length} mappings (${arenas} of 1-64 MiB with resident pages, the size of malloc arenas' heaps); largest:`,
    ...maps.slice(0, 10).map((m) => `  ${m.range.padEnd(26)} ${m.name.padEnd(6)} size ${(m.sizeKb / 1024).toFixed(1).padStart(7)} MiB  rss ${(m.rssKb / 1024).toFixed(1).padStart(7)} MiB`),
  ].join('\n');
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
  const w = await startWorker({ nodeFlags: NODE_FLAGS, workerConfig: { 'value.converter.schemas.enable': 'false', 'offset.flush.interval.ms': 2000 } });
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
  console.log(`worker pid ${w.pid}; MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? '(unset)'}; NODE_OPTIONS=${process.env.NODE_OPTIONS ?? '(unset)'}; worker node flags: ${NODE_FLAGS.join(' ') || '(none)'}`);
  console.log('memory in MiB: anon = RssAnon; heap tot/used = V8 heap; new = young generation reserved; old = old space used; ext = external (incl. array buf); code = V8 code space used');
  console.log('    t(s) |    RSS |   anon | heap tot | heap used |   new |    old |    ext | arr buf |  code | loop lag p99 ms | consumer lag | records written');
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, SAMPLE_S * 1000));
    const text = await (await fetch(`${w.url}/metrics`)).text();
    const high = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
    const done = (await admin.fetchOffsets({ groupId: `connect-${topic}-sink`, topics: [topic] })).flatMap((t) => t.partitions).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    const s: Sample = {
      t: Math.round((Date.now() - started) / 1000),
      rssMiB: metric(text, 'ferry_process_resident_memory_bytes') / 2 ** 20,
      anonMiB: procStatusMiB(w.pid, 'RssAnon'),
      heapTotalMiB: metric(text, 'ferry_nodejs_heap_size_total_bytes') / 2 ** 20,
      heapMiB: metric(text, 'ferry_nodejs_heap_size_used_bytes') / 2 ** 20,
      externalMiB: metric(text, 'ferry_nodejs_external_memory_bytes') / 2 ** 20,
      arrayBuffersMiB: metric(text, 'ferry_nodejs_array_buffers_bytes') / 2 ** 20,
      codeMiB: labelled(text, 'ferry_nodejs_heap_space_size_used_bytes', 'space="code"') / 2 ** 20,
      newTotalMiB: labelled(text, 'ferry_nodejs_heap_space_size_total_bytes', 'space="new"') / 2 ** 20,
      oldUsedMiB: labelled(text, 'ferry_nodejs_heap_space_size_used_bytes', 'space="old"') / 2 ** 20,
      lagP99Ms: metric(text, 'ferry_nodejs_eventloop_lag_p99_seconds') * 1000,
      consumerLag: high - done,
      written: readLines(out).length,
    };
    samples.push(s);
    console.log(
      `${String(s.t).padStart(8)} | ${f(s.rssMiB, 6)} | ${f(s.anonMiB, 6)} | ${f(s.heapTotalMiB, 8)} | ${f(s.heapMiB, 9)} | ${f(s.newTotalMiB, 5)} | ${f(s.oldUsedMiB, 6)} | ${f(s.externalMiB, 6)} | ${f(s.arrayBuffersMiB, 7)} | ${f(s.codeMiB, 5)} | ${s.lagP99Ms.toFixed(1).padStart(15)} | ${String(s.consumerLag).padStart(12)} | ${String(s.written).padStart(15)}`,
    );
  }
  console.log(anonymousMappings(w.pid));
  await w.stop();
  await admin.disconnect();

  if (samples.length < 8) {
    console.log(`only ${samples.length} samples: too few to judge flatness (run longer)`);
    return;
  }
  const rss = flatness(samples.map((s) => s.rssMiB), 5);
  const anon = flatness(samples.map((s) => s.anonMiB), 5);
  const heapTotal = flatness(samples.map((s) => s.heapTotalMiB), 5);
  const heap = flatness(samples.map((s) => s.heapMiB), 5);
  // Resident anonymous memory that is neither V8's heap nor external memory: malloc'd native memory, V8's pooled pages, thread stacks.
  const native = flatness(samples.map((s) => s.anonMiB - s.heapTotalMiB - s.externalMiB), 5);
  const oldUsed = flatness(samples.map((s) => s.oldUsedMiB), 5);
  const external = flatness(samples.map((s) => s.externalMiB), 5);
  const arrayBuffers = flatness(samples.map((s) => s.arrayBuffersMiB), 5);
  const loop = flatness(samples.map((s) => s.lagP99Ms), 5);
  const lag = flatness(samples.map((s) => s.consumerLag), 2000);
  const rate = (samples[samples.length - 1]!.written - samples[0]!.written) / Math.max(1, samples[samples.length - 1]!.t - samples[0]!.t);
  const line = (n: string, f: ReturnType<typeof flatness>, unit: string) =>
    `${n.padEnd(16)} 2nd quarter ${f.q2.toFixed(1)} ${unit}, last quarter ${f.q4.toFixed(1)} ${unit}: ${f.flat ? 'flat' : 'NOT flat'}`;
  console.log(line('RSS', rss, 'MiB'));
  console.log(line('RSS anon', anon, 'MiB'));
  console.log(line('heap total', heapTotal, 'MiB'));
  console.log(line('heap used', heap, 'MiB'));
  console.log(line('old space used', oldUsed, 'MiB'));
  console.log(line('external', external, 'MiB'));
  console.log(line('array buffers', arrayBuffers, 'MiB'));
  console.log(line('other anon', native, 'MiB (anon - heap total - external)'));
  console.log(line('event-loop lag', loop, 'ms (p99)'));
  console.log(line('consumer lag', lag, 'records'));
  console.log(`throughput       ${rate.toFixed(0)} records/s written by the sink`);
  if (!rss.flat) process.exitCode = 1;
}

await main();
