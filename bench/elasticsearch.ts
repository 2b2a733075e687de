/**
 * Elasticsearch sink throughput: BENCH_RECORDS records (default 200000)
 * through ElasticsearchSinkTask (put/preCommit/flush loop, as the runtime
 * drives it), beside a raw _bulk load of the same documents with the same
 * client (@elastic/elasticsearch, same batch size and concurrency) in the
 * same run. Each phase runs in its own child process (so peak RSS is its
 * own), BENCH_ROUNDS times (default 2) in alternating order; prints
 * documents/s and peak RSS per phase and the ratio of the best of each.
 *
 *   node --import tsx --conditions=development bench/elasticsearch.ts
 *   BENCH_RECORDS=1000000 ES_URL=http://127.0.0.1:9200 node --import tsx --conditions=development bench/elasticsearch.ts
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import { silentLogger, type SinkRecord, type SinkTaskContext } from '@ferry/core';
import { ElasticsearchSinkTask } from '@ferry/connectors/elasticsearch';

const URL_ = process.env.ES_URL ?? 'http://127.0.0.1:9200';
const N = Number(process.env.BENCH_RECORDS ?? 200_000);
const PARTITIONS = 4;
const PUT_BATCH = 500; // what a consumer poll typically hands to put()
const BULK_BATCH = 2000; // the sink's batch.size default
const IN_FLIGHT = 5; // the sink's max.in.flight.requests default
const run = randomBytes(3).toString('hex');

function value(i: number) {
  return {
    id: i,
    customer: `customer-${i % 9973}`,
    amount: (i % 10_000) / 100,
    status: i % 7 === 0 ? 'refunded' : 'paid',
    created_at: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    tags: ['web', i % 2 ? 'mobile' : 'desktop'],
    address: { city: `city-${i % 101}`, zip: String(10_000 + (i % 89_999)) },
  };
}

/** Records generated batch by batch, so RSS reflects the sink, not the data set. */
function* batches(topic: string): Generator<SinkRecord[]> {
  for (let start = 0; start < N; start += PUT_BATCH) {
    const batch: SinkRecord[] = [];
    for (let i = start; i < Math.min(N, start + PUT_BATCH); i++) {
      const partition = i % PARTITIONS;
      batch.push({ topic, kafkaPartition: partition, kafkaOffset: Math.floor(i / PARTITIONS), key: null, value: value(i), timestamp: Date.now() });
    }
    yield batch;
  }
}

class RssPeak {
  peak = 0;
  private t = setInterval(() => this.sample(), 20);
  sample() {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }
  stop() {
    clearInterval(this.t);
    this.sample();
    return this.peak;
  }
}

async function prepare(client: Client, index: string) {
  await client.indices.delete({ index, ignore_unavailable: true });
  await client.indices.create({ index, settings: { number_of_shards: 1, number_of_replicas: 0 } });
}

async function countOf(client: Client, index: string) {
  await client.indices.refresh({ index });
  return (await client.count({ index })).count;
}

async function rawBulk(client: Client, index: string, topic: string) {
  const pending = new Set<Promise<void>>();
  let ops: unknown[] = [];
  let n = 0;
  const send = (operations: unknown[]) => {
    const p = client.bulk({ operations, filter_path: 'errors,items.*.error' }).then((r) => {
      if (r.errors) throw new Error('raw bulk had item errors');
    });
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  for (const batch of batches(topic)) {
    for (const r of batch) {
      ops.push({ index: { _index: index, _id: `${r.topic}+${r.kafkaPartition}+${r.kafkaOffset}` } }, r.value);
      if (++n % BULK_BATCH === 0) {
        while (pending.size >= IN_FLIGHT) await Promise.race(pending);
        send(ops);
        ops = [];
      }
    }
  }
  if (ops.length) send(ops);
  await Promise.all(pending);
}

async function sink(index: string, topic: string) {
  const task = new ElasticsearchSinkTask();
  const ac = new AbortController();
  const ctx: SinkTaskContext = {
    connectorName: 'bench',
    taskId: 0,
    logger: silentLogger,
    signal: ac.signal,
    assignment: () => [],
    pause() {},
    resume() {},
    requestCommit() {},
    offset() {},
  };
  await task.start({ 'connection.url': URL_, 'key.ignore': 'true', 'index.name.format': index, 'server.type': 'elasticsearch' }, ctx);
  const consumed = new Map<number, number>();
  let puts = 0;
  for (const batch of batches(topic)) {
    await task.put(batch);
    for (const r of batch) consumed.set(r.kafkaPartition, r.kafkaOffset + 1);
    if (++puts % 20 === 0) await task.preCommit([...consumed].map(([partition, offset]) => ({ topic, partition, offset })));
  }
  await task.flush([]);
  const committed = await task.preCommit([...consumed].map(([partition, offset]) => ({ topic, partition, offset })));
  const stats = task.stats();
  await task.stop();
  return { committed, stats };
}

const mib = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;

type Phase = 'raw' | 'sink';
interface PhaseResult {
  phase: Phase;
  secs: number;
  rate: number;
  peakRss: number;
  requests?: number;
  retries?: number;
  committed?: number[];
}

/** One phase in this process (a child of the main run, so its RSS is its own). */
async function runPhase(phase: Phase, index: string): Promise<PhaseResult> {
  const client = new Client({ node: URL_, maxRetries: 3, requestTimeout: 60_000 });
  const rss = new RssPeak();
  const t0 = performance.now();
  let extra: Partial<PhaseResult> = {};
  if (phase === 'raw') await rawBulk(client, index, 'bench');
  else {
    const r = await sink(index, 'bench');
    extra = { requests: r.stats.requests, retries: r.stats.retries, committed: r.committed.map((c) => c.offset) };
  }
  const secs = (performance.now() - t0) / 1000;
  await client.close();
  return { phase, secs, rate: N / secs, peakRss: rss.stop(), ...extra };
}

function spawnPhase(phase: Phase, index: string): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_PHASE: phase, BENCH_INDEX: index },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as PhaseResult);
      else reject(new Error(`${phase} phase exited with ${code}: ${out}`));
    });
  });
}

async function main() {
  const client = new Client({ node: URL_, maxRetries: 3, requestTimeout: 60_000 });
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  const results: PhaseResult[] = [];
  const indices: string[] = [];
  try {
    console.log(
      `Elasticsearch sink benchmark: ${N} records, ${PARTITIONS} partitions, put batches of ${PUT_BATCH}, bulk ${BULK_BATCH} x ${IN_FLIGHT} in flight, ${rounds} rounds, ${URL_}`,
    );
    for (let round = 0; round < rounds; round++) {
      // Alternate the order so neither side always runs on a warmer server.
      const order: Phase[] = round % 2 === 0 ? ['raw', 'sink'] : ['sink', 'raw'];
      for (const phase of order) {
        const index = `bench-${phase}-${run}-${round}`;
        indices.push(index);
        await prepare(client, index);
        const r = await spawnPhase(phase, index);
        const docs = await countOf(client, index);
        if (docs !== N) throw new Error(`${phase}: expected ${N} documents, found ${docs}`);
        await client.indices.delete({ index, ignore_unavailable: true });
        results.push(r);
        const extra = r.phase === 'sink' ? `  requests ${r.requests}, retries ${r.retries}, committed ${JSON.stringify(r.committed)}` : '';
        console.log(
          `round ${round + 1} ${phase === 'raw' ? 'raw _bulk (client.bulk)      ' : 'ElasticsearchSinkTask         '} ${r.rate.toFixed(0).padStart(7)} docs/s ${r.secs.toFixed(1).padStart(6)} s  peak RSS ${mib(r.peakRss)}${extra}`,
        );
      }
    }
    const best = (p: Phase) => results.filter((r) => r.phase === p).reduce((a, b) => (b.rate > a.rate ? b : a));
    const [raw, snk] = [best('raw'), best('sink')];
    console.log(`best raw  ${raw.rate.toFixed(0)} docs/s, peak RSS ${mib(raw.peakRss)}`);
    console.log(`best sink ${snk.rate.toFixed(0)} docs/s, peak RSS ${mib(snk.peakRss)}`);
    console.log(`ratio sink/raw: ${(snk.rate / raw.rate).toFixed(2)}`);
  } finally {
    await client.indices.delete({ index: indices, ignore_unavailable: true }).catch(() => undefined);
    await client.close();
  }
}

if (process.env.BENCH_PHASE) {
  const r = await runPhase(process.env.BENCH_PHASE as Phase, process.env.BENCH_INDEX!);
  console.log(JSON.stringify(r));
} else {
  await main();
}
