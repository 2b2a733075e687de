/**
 * Distributed mode benchmark: DatagenSource -> Kafka -> no-op sink through a
 * cluster of 1, 2 and 3 worker processes (one group each, fresh topics), and
 * the failover gap after a kill -9 of a worker.
 *
 *   node --import tsx --conditions=development bench/distributed.ts   (BENCH_RECORDS, default 300000; BENCH_ONLY=failover)
 *
 * Throughput is timed from the first record in the data topic to the sink
 * group's committed offsets reaching every record. The failover gap is the
 * time from the kill until every task of the dead worker runs elsewhere and
 * its source offsets move again (session.timeout.ms 6000,
 * scheduled.rebalance.max.delay.ms 0 so only detection and restart count).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { defineConfig, type SinkConnectorPlugin } from '@ferry/core';
import { allPlugins } from '@ferry/connectors';
import { DistributedWorker, type AnyPlugin } from '@ferry/worker';

const N = Number(process.env.BENCH_RECORDS ?? 300000);
const BROKER = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';
const TASKS = 6;
const self = fileURLToPath(import.meta.url);

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
    'key.converter': 'StringConverter',
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

async function startChild(config: object): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--conditions=development', self, 'child', JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
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

async function stopChild(c: Child, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  const exited = new Promise((r) => c.proc.once('exit', r));
  c.proc.kill(signal);
  await exited;
}

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

async function throughput(workers: number): Promise<{ workers: number; recordsPerSec: number; seconds: number }> {
  const group = `bench-dist-${workers}-${Date.now().toString(36)}`;
  const topic = `${group}-data`;
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: TASKS }] });
  const children = await Promise.all(Array.from({ length: workers }, () => startChild(workerConfig(group))));
  try {
    const url = children[0]!.url;
    await until(async () => (await rest(url, 'GET', '/connectors')).status === 200);
    // Every worker in the group before the work is created, so the first assignment spreads it.
    await new Promise((r) => setTimeout(r, 3000));
    const per = Math.ceil(N / TASKS);
    await until(async () => (await rest(url, 'POST', '/connectors', { name: `${group}-sink`, config: { 'connector.class': 'NoopSink', topics: topic, 'tasks.max': String(TASKS) } })).status === 201, 60000, 500);
    await until(async () => (await rest(url, 'POST', '/connectors', { name: `${group}-gen`, config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', iterations: String(per), 'max.interval': '0', 'batch.size': '1000', 'tasks.max': String(TASKS) } })).status === 201, 60000, 500);
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

async function failoverGap(): Promise<{ gapSeconds: number; movedTasks: number }> {
  const group = `bench-fail-${Date.now().toString(36)}`;
  const topic = `${group}-data`;
  const children = await Promise.all([0, 1, 2].map(() => startChild(workerConfig(group))));
  try {
    const url = children[0]!.url;
    await until(async () => (await rest(url, 'GET', '/connectors')).status === 200);
    await new Promise((r) => setTimeout(r, 3000));
    await until(async () => (await rest(url, 'POST', '/connectors', { name: `${group}-gen`, config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', 'max.interval': '2', 'tasks.max': '3' } })).status === 201, 60000, 500);
    const running = await until(async () => {
      const s = (await rest(url, 'GET', `/connectors/${group}-gen/status`)).body as { tasks: Array<{ id: number; state: string; worker_id: string }> };
      return s.tasks.length === 3 && s.tasks.every((t) => t.state === 'RUNNING') && new Set(s.tasks.map((t) => t.worker_id)).size === 3 ? s : null;
    }, 60000);
    const victimUrl = children[2]!.url.replace('http://', '');
    const moved = running.tasks.filter((t) => t.worker_id === victimUrl).map((t) => t.id);
    const offsetOf = async (task: number) => {
      const r = await rest(url, 'GET', `/connectors/${group}-gen/offsets`);
      return (r.body.offsets as Array<{ partition: { task: number }; offset: { position: number } }>).find((o) => o.partition.task === task)?.offset.position ?? 0;
    };
    await until(async () => (await offsetOf(moved[0]!)) > 0, 30000);
    await stopChild(children[2]!, 'SIGKILL');
    const killedAt = Date.now();
    const atKill = await Promise.all(moved.map(offsetOf));
    // Progress again: the moved tasks commit offsets past what was committed at the kill.
    await until(async () => (await Promise.all(moved.map(offsetOf))).every((p, i) => p > atKill[i]!), 120000, 100);
    return { gapSeconds: Math.round((Date.now() - killedAt) / 100) / 10, movedTasks: moved.length };
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
  }
}

if (process.argv[2] === 'child') {
  await runChild(process.argv[3]!);
} else {
  const results = [];
  for (const n of process.env.BENCH_ONLY === 'failover' ? [] : [1, 2, 3]) {
    const r = await throughput(n);
    console.log(`${n} worker(s): ${r.recordsPerSec} records/s (${N} records in ${r.seconds} s)`);
    results.push(r);
  }
  const f = await failoverGap();
  console.log(`failover gap after kill -9: ${f.gapSeconds} s (${f.movedTasks} task(s) moved; session.timeout.ms 6000, scheduled.rebalance.max.delay.ms 0, offset.flush.interval.ms 1000)`);
  console.log(JSON.stringify({ throughput: results, failover: f }));
}
