/**
 * Distributed mode benchmark, this worker against Apache Kafka Connect 4.3.1
 * distributed mode (ConnectDistributed, the heap flags of its own
 * connect-distributed.sh: -Xms256M -Xmx2G) in the same run, on the same broker:
 * a source -> Kafka -> sink pipeline through a cluster of 1, 2 and 3 worker
 * processes (one group each, fresh topics), and the failover gap after a
 * kill -9 of one of three workers.
 *
 *   node --import tsx --conditions=development bench/distributed.ts
 *     BENCH_RECORDS  records per throughput run (default 300000)
 *     BENCH_SIDES    ferry,kafka-connect (default both)
 *     BENCH_ONLY=failover  only the failover gap
 *
 * Same settings on both sides: 6 source tasks and 6 sink tasks over a topic
 * of 6 partitions, JsonConverter without schemas for keys and values,
 * offset.flush.interval.ms 1000, heartbeat.interval.ms 1000,
 * session.timeout.ms 6000, scheduled.rebalance.max.delay.ms 0 (so the gap is
 * detection plus restart only), replication factor 1.
 * Source: ours DatagenSource (quickstart orders, max.interval 0, batch.size
 * 1000); theirs SchemaSourceConnector (connect-test-plugins, throughput -1:
 * no throttle, partition.count 6), both a fixed count per task. Sink: ours
 * the no-op NoopSink (6 tasks; our FileStreamSink makes one task per file),
 * theirs FileStreamSinkConnector to /dev/null (6 tasks, formats and writes
 * every record: more work than ours).
 * What differs: the records (ours a random order of ~130 bytes of JSON, theirs
 * a fixed struct of ~100 bytes), the source's batch (ours 1000 records per
 * poll, theirs one record per poll, batched by its producer), their source
 * printing every record to stdout, their sink's write, and the runtime.
 *
 * Throughput is timed from the first record in the data topic to the sink
 * group's committed offsets reaching every record. The failover gap is the
 * time from the kill until every source task of the dead worker runs
 * elsewhere and its committed source offset moves past where it was at the
 * kill (both sides' GET /connectors/<name>/offsets); sources are throttled
 * to ~500 records/s per task there (theirs: VerifiableSourceConnector,
 * throughput 500; SchemaSourceConnector with a throttle produces from task 0
 * only in 4.3.1). Both of their sources also print every record as JSON to
 * stdout (sent to /dev/null here): work our sources do not do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { defineConfig, type SinkConnectorPlugin } from '@ferry/core';
import { allPlugins } from '@ferry/connectors';
import { DistributedWorker, type AnyPlugin } from '@ferry/worker';
// @ts-expect-error: the stack scripts are plain JavaScript without types
import { ensureDir, fingerprint, mvnCopyDependencies } from '../scripts/stack/lib/cache.mjs';
// @ts-expect-error: the stack scripts are plain JavaScript without types
import { cacheDir } from '../scripts/stack/lib/paths.mjs';
// @ts-expect-error: the stack scripts are plain JavaScript without types
import { javaBin } from '../scripts/stack/lib/java.mjs';

const N = Number(process.env.BENCH_RECORDS ?? 300000);
const BROKER = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';
const TASKS = 6;
const self = fileURLToPath(import.meta.url);
const ROOT = join(dirname(self), '..');
const POM = join(ROOT, 'bench/kafka-connect/pom.xml');
const CONNECT_VERSION = readFileSync(POM, 'utf8').match(/<connect\.version>([^<]+)</)![1]!;
type SideName = 'ferry' | 'kafka-connect';
const SIDES = (process.env.BENCH_SIDES ?? 'ferry,kafka-connect').split(',') as SideName[];

const NoopSink: SinkConnectorPlugin = {
  type: 'sink',
  className: 'NoopSink',
  version: 'bench',
  config: defineConfig({}),
  create: () => ({
    start() {},
    taskConfigs: (max: number) => Array.from({ length: max }, () => ({})),
    createTask: () => ({ start: async () => {}, put: async () => {}, stop: async () => {} }),
    stop() {},
  }),
};

function workerConfig(group: string, extra: Record<string, unknown> = {}) {
  return {
    'bootstrap.servers': BROKER,
    'group.id': group,
    'config.storage.topic': `${group}-configs`,
    'offset.storage.topic': `${group}-offsets`,
    'status.storage.topic': `${group}-status`,
    'config.storage.replication.factor': 1,
    'offset.storage.replication.factor': 1,
    'status.storage.replication.factor': 1,
    'offset.storage.partitions': 5,
    'status.storage.partitions': 3,
    'rest.port': 0,
    'rest.host.name': '127.0.0.1',
    'rest.advertised.host.name': '127.0.0.1',
    'offset.flush.interval.ms': 1000,
    'key.converter': 'JsonConverter',
    'value.converter': 'JsonConverter',
    'key.converter.schemas.enable': 'false',
    'value.converter.schemas.enable': 'false',
    'heartbeat.interval.ms': 1000,
    'session.timeout.ms': 6000,
    'scheduled.rebalance.max.delay.ms': 0,
    'log.level': 'WARN',
    ...extra,
  };
}

/** Child process: one worker, prints its port. */
async function runChild(config: string): Promise<void> {
  const w = await DistributedWorker.start({ workerConfig: JSON.parse(config) as Record<string, unknown>, plugins: [...(allPlugins as AnyPlugin[]), NoopSink] });
  process.stdout.write(`PORT ${w.port}\n`);
  process.on('SIGTERM', () => void w.stop().then(() => process.exit(0)));
}

interface Child {
  proc: ChildProcess;
  url: string;
}

/** Worker processes of this run, killed if the benchmark is interrupted or fails. */
const live = new Set<ChildProcess>();

function track(proc: ChildProcess): void {
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
}

async function startChild(config: object): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--conditions=development', self, 'child', JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
  track(proc);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', () => reject(new Error(`worker exited: ${out}`)));
  });
  return { proc, url: `http://127.0.0.1:${port}` };
}

let kcLibs = '';
let kcDir = '';
let kcPort = 18290;

async function connectLibs(): Promise<string> {
  const dir = join(cacheDir() as string, `kafka-connect-${CONNECT_VERSION}`, 'libs');
  const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);
  await ensureDir(dir, fingerprint([POM]), (tmp: string) => mvnCopyDependencies(POM, tmp, { log: say }), { log: say, what: 'the Kafka Connect jar download' });
  return dir;
}

/** One Kafka Connect distributed worker with the same group settings as ours. */
async function startKcChild(group: string): Promise<Child> {
  const port = kcPort++;
  const dir = join(kcDir, `${group}-${port}`);
  mkdirSync(dir, { recursive: true });
  const props = join(dir, 'worker.properties');
  writeFileSync(
    props,
    [
      `bootstrap.servers=${BROKER}`,
      `group.id=${group}`,
      `config.storage.topic=${group}-configs`,
      `offset.storage.topic=${group}-offsets`,
      `status.storage.topic=${group}-status`,
      'config.storage.replication.factor=1',
      'offset.storage.replication.factor=1',
      'status.storage.replication.factor=1',
      'offset.storage.partitions=5',
      'status.storage.partitions=3',
      `listeners=http://127.0.0.1:${port}`,
      'rest.advertised.host.name=127.0.0.1',
      `rest.advertised.port=${port}`,
      'offset.flush.interval.ms=1000',
      'key.converter=org.apache.kafka.connect.json.JsonConverter',
      'value.converter=org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable=false',
      'value.converter.schemas.enable=false',
      'heartbeat.interval.ms=1000',
      'session.timeout.ms=6000',
      'scheduled.rebalance.max.delay.ms=0',
      '',
    ].join('\n'),
  );
  const log4j = join(dir, 'log4j2.properties');
  writeFileSync(log4j, 'rootLogger.level=WARN\nrootLogger.appenderRef.stderr.ref=STDERR\nappender.stderr.type=Console\nappender.stderr.name=STDERR\nappender.stderr.target=SYSTEM_ERR\nappender.stderr.layout.type=PatternLayout\nappender.stderr.layout.pattern=%d %p %c: %m%n\n');
  const proc = spawn(javaBin() as string, ['-Xms256M', '-Xmx2G', `-Dlog4j2.configurationFile=${log4j}`, '-cp', join(kcLibs, '*'), 'org.apache.kafka.connect.cli.ConnectDistributed', props], { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  track(proc);
  let err = '';
  proc.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  await until(async () => {
    if (proc.exitCode !== null) throw new Error(`Kafka Connect worker exited: ${err}`);
    return (await rest(url, 'GET', '/connectors')).status === 200;
  }, 180000, 250).catch((e) => {
    proc.kill('SIGKILL');
    throw new Error(`${(e as Error).message}: ${err}`);
  });
  return { proc, url };
}

async function stopChild(c: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  const exited = new Promise((r) => c.proc.once('exit', r));
  c.proc.kill(signal);
  const timer = setTimeout(() => c.proc.kill('SIGKILL'), 20000);
  await exited;
  clearTimeout(timer);
}

/** What each side runs: the same pipeline shape with its own plugins. */
const sides: Record<SideName, { start: (group: string) => Promise<Child>; source: (topic: string, perTask?: number) => Record<string, string>; sink: (topic: string) => Record<string, string>; position: (o: { partition: Record<string, unknown>; offset: Record<string, unknown> }, task: number) => number | undefined }> = {
  ferry: {
    start: (group) => startChild(workerConfig(group)),
    source: (topic, perTask): Record<string, string> =>
      perTask === undefined
        ? { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', 'max.interval': '2', 'tasks.max': '3' }
        : { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', iterations: String(perTask), 'max.interval': '0', 'batch.size': '1000', 'tasks.max': String(TASKS) },
    // Our FileStreamSink makes one task (one writer per file): the no-op sink spreads over the workers like theirs.
    sink: (topic) => ({ 'connector.class': 'NoopSink', topics: topic, 'tasks.max': String(TASKS) }),
    position: (o, task) => (o.partition.task === task ? Number(o.offset.position) : undefined),
  },
  'kafka-connect': {
    start: (group) => startKcChild(group),
    source: (topic, perTask): Record<string, string> =>
      perTask === undefined
        ? // SchemaSourceConnector throttled stalls all tasks but task 0 after one record (4.3.1): the verifiable one throttles per task.
          { 'connector.class': 'org.apache.kafka.connect.tools.VerifiableSourceConnector', topic, throughput: '500', 'tasks.max': '3' }
        : { 'connector.class': 'org.apache.kafka.connect.tools.SchemaSourceConnector', topic, 'num.messages': String(perTask), throughput: '-1', 'partition.count': String(TASKS), 'multiple.schema': 'false', 'tasks.max': String(TASKS) },
    sink: (topic) => ({ 'connector.class': 'org.apache.kafka.connect.file.FileStreamSinkConnector', topics: topic, file: '/dev/null', 'tasks.max': String(TASKS) }),
    position: (o, task) => (o.partition.id === task ? Number(o.offset.seqno) : undefined),
  },
};

const kafka = () => new Kafka({ clientId: 'bench', brokers: [BROKER], logLevel: logLevel.NOTHING });

async function until<T>(fn: () => Promise<T | null | false> | T | null | false, timeoutMs = 600000, intervalMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      /* retry */
    }
    if (Date.now() > end) throw new Error('benchmark phase timed out');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function rest(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(url + path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

async function topicSize(admin: ReturnType<ReturnType<typeof kafka>['admin']>, topic: string): Promise<number> {
  if (!(await admin.listTopics()).includes(topic)) return 0;
  return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
}

async function committed(admin: ReturnType<ReturnType<typeof kafka>['admin']>, group: string, topic: string): Promise<number> {
  const res = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return res.flatMap((t) => t.partitions).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

async function throughput(side: SideName, workers: number): Promise<{ workers: number; recordsPerSec: number; seconds: number }> {
  const group = `bench-dist-${side === 'ferry' ? 'f' : 'kc'}${workers}-${Date.now().toString(36)}`;
  const topic = `${group}-data`;
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: TASKS }] });
  const children: Child[] = [];
  try {
    for (const c of await Promise.all(Array.from({ length: workers }, () => sides[side].start(group)))) children.push(c);
    const url = children[0]!.url;
    await until(async () => (await rest(url, 'GET', '/connectors')).status === 200);
    // Every worker in the group before the work is created, so the first assignment spreads it.
    await new Promise((r) => setTimeout(r, 3000));
    const per = Math.ceil(N / TASKS);
    await until(async () => (await rest(url, 'POST', '/connectors', { name: `${group}-sink`, config: sides[side].sink(topic) })).status === 201, 60000, 500);
    // The group settled (every worker joined, a JVM starts slower) before the source starts: the sink's tasks run on every worker.
    await until(async () => {
      const st = (await rest(url, 'GET', `/connectors/${group}-sink/status`)).body as { tasks: Array<{ state: string; worker_id: string }> };
      return st.tasks.length > 0 && st.tasks.every((t) => t.state === 'RUNNING') && new Set(st.tasks.map((t) => t.worker_id)).size === Math.min(workers, st.tasks.length);
    }, 180000, 250);
    await until(async () => (await rest(url, 'POST', '/connectors', { name: `${group}-gen`, config: sides[side].source(topic, per) })).status === 201, 60000, 500);
    await until(async () => (await topicSize(admin, topic)) > 0, 120000, 20);
    const t0 = Date.now();
    const total = per * TASKS;
    await until(async () => (await committed(admin, `connect-${group}-sink`, topic)) >= total, 600000, 100);
    const seconds = (Date.now() - t0) / 1000;
    return { workers, recordsPerSec: Math.round(total / seconds), seconds: Math.round(seconds * 10) / 10 };
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
    await admin.disconnect();
  }
}

async function failoverGap(side: SideName): Promise<{ gapSeconds: number; movedTasks: number }> {
  const group = `bench-fail-${side === 'ferry' ? 'f' : 'kc'}-${Date.now().toString(36)}`;
  const topic = `${group}-data`;
  const children: Child[] = [];
  try {
    for (const c of await Promise.all([0, 1, 2].map(() => sides[side].start(group)))) children.push(c);
    const url = children[0]!.url;
    await until(async () => (await rest(url, 'GET', '/connectors')).status === 200);
    await new Promise((r) => setTimeout(r, 3000));
    await until(async () => (await rest(url, 'POST', '/connectors', { name: `${group}-gen`, config: sides[side].source(topic) })).status === 201, 60000, 500);
    const running = await until(async () => {
      const s = (await rest(url, 'GET', `/connectors/${group}-gen/status`)).body as { tasks: Array<{ id: number; state: string; worker_id: string }> };
      return s.tasks.length === 3 && s.tasks.every((t) => t.state === 'RUNNING') && new Set(s.tasks.map((t) => t.worker_id)).size === 3 ? s : null;
    }, 120000);
    const victimUrl = children[2]!.url.replace('http://', '');
    const moved = running.tasks.filter((t) => t.worker_id === victimUrl).map((t) => t.id);
    if (moved.length === 0) throw new Error(`no task on the worker to kill: ${JSON.stringify(running)}`);
    const offsetOf = async (task: number) => {
      const r = await rest(url, 'GET', `/connectors/${group}-gen/offsets`);
      for (const o of r.body.offsets as Array<{ partition: Record<string, unknown>; offset: Record<string, unknown> }>) {
        const p = sides[side].position(o, task);
        if (p !== undefined) return p;
      }
      return 0;
    };
    await until(async () => (await offsetOf(moved[0]!)) > 0, 60000);
    await stopChild(children[2]!, 'SIGKILL');
    const killedAt = Date.now();
    const atKill = await Promise.all(moved.map(offsetOf));
    // Progress again: the moved tasks commit offsets past what was committed at the kill.
    await until(async () => (await Promise.all(moved.map(offsetOf))).every((p, i) => p > atKill[i]!), 180000, 100);
    return { gapSeconds: Math.round((Date.now() - killedAt) / 100) / 10, movedTasks: moved.length };
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    for (const p of live) p.kill('SIGKILL');
    process.exit(130);
  });
}

if (process.argv[2] === 'child') {
  await runChild(process.argv[3]!);
} else {
  if (SIDES.includes('kafka-connect')) {
    kcLibs = await connectLibs();
    kcDir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'ferry-dist-kc-'));
  }
  const table = new Map<string, Partial<Record<SideName, string>>>();
  const row = (k: string, side: SideName, v: string) => table.set(k, { ...table.get(k), [side]: v });
  try {
    for (const n of process.env.BENCH_ONLY === 'failover' ? [] : [1, 2, 3]) {
      // Alternate which side goes first.
      for (const side of n % 2 === 1 ? SIDES : [...SIDES].reverse()) {
        const r = await throughput(side, n);
        console.log(`${side}, ${n} worker(s): ${r.recordsPerSec} records/s (${N} records in ${r.seconds} s)`);
        row(`records/s, ${n} worker(s)`, side, String(r.recordsPerSec));
      }
    }
    for (const side of SIDES) {
      const f = await failoverGap(side);
      console.log(`${side}: failover gap after kill -9: ${f.gapSeconds} s (${f.movedTasks} task(s) moved)`);
      row('failover gap after kill -9 (s)', side, String(f.gapSeconds));
    }
  } finally {
    for (const p of live) p.kill('SIGKILL');
    if (kcDir) rmSync(kcDir, { recursive: true, force: true });
  }
  console.log(`\n${N} records per throughput run; ${TASKS} source and ${TASKS} sink tasks; session.timeout.ms 6000, heartbeat.interval.ms 1000, scheduled.rebalance.max.delay.ms 0, offset.flush.interval.ms 1000; Kafka Connect ${CONNECT_VERSION}, Node.js ${process.versions.node}`);
  console.log(`| measure | ${SIDES.join(' | ')} |`);
  console.log(`|---|${SIDES.map(() => '---').join('|')}|`);
  for (const [k, v] of table) console.log(`| ${k} | ${SIDES.map((s) => v[s] ?? '').join(' | ')} |`);
}
