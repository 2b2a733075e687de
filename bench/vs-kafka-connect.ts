/**
 * This worker against Apache Kafka Connect 4.3.1 (standalone, the heap flags
 * of its own connect-standalone.sh) on the same broker, back to back,
 * alternating which side goes first:
 *
 *   1. Kafka -> FileStreamSink (file on disk)
 *   2. FileStreamSource -> Kafka (batch.size 2000)
 *   3. Kafka -> our no-op sink  vs  Kafka -> their FileStreamSink to tmpfs (/dev/shm)
 *
 * and, with `--postgres` (npm run bench:vs-debezium), the PostgreSQL paths
 * against Debezium's connectors loaded into the same Kafka Connect:
 *
 *   pg-snapshot  PostgresCdcSource vs Debezium PostgresConnector: initial snapshot of a table -> Kafka
 *   pg-stream    the same two, streaming: one transaction updating every row -> Kafka
 *                (the clock starts at its commit, once both connectors' slots are active)
 *   pg-upsert    Kafka -> PostgresSink vs Debezium JdbcSinkConnector: upsert by the record key
 *                (JsonConverter with schemas, which Debezium's sink needs, on both sides)
 *
 *   npm run bench:vs-kafka-connect       (BENCH_RECORDS, default 1000000; BENCH_ROUNDS, default 1;
 *                                         BENCH_PG_ROWS: rows of the pg-* pipelines, default 200000;
 *                                         BENCH_PIPELINES, BENCH_SIDES: subsets, comma-separated;
 *                                         BENCH_PROF=<dir>: our worker writes a CPU profile there;
 *                                         BENCH_NODE_FLAGS: our worker's Node.js flags, default --max-semi-space-size=8)
 *
 * Both sides: tasks.max=1, JsonConverter without schemas for keys and values,
 * offset.flush.interval.ms 1000, records of ~100 bytes, one process per run
 * (started before the clock, so start-up is not timed; peak RSS includes it).
 * The clock starts at the REST call creating the connector and stops when
 * the last record is where it goes: every line in the file, every record in
 * the topic, or (no-op sink) every record through put(). CPU seconds are the
 * process's user+system time over that interval. Our FileStreamSink runs with
 * file.sync=false (BENCH_FILE_SYNC=true to fsync at every flush): theirs only
 * writes and flushes the stream, never fsyncs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { LogManager, PlatformaticBackbone } from '@ferry/worker';
// @ts-expect-error: the stack scripts are plain JavaScript without types
import { ensureDir, fingerprint, mvnCopyDependencies } from '../scripts/stack/lib/cache.mjs';
// @ts-expect-error: the stack scripts are plain JavaScript without types
import { cacheDir } from '../scripts/stack/lib/paths.mjs';
// @ts-expect-error: the stack scripts are plain JavaScript without types
import { javaBin } from '../scripts/stack/lib/java.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const BROKER = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';
const POM = join(ROOT, 'bench/kafka-connect/pom.xml');
const CONNECT_VERSION = readFileSync(POM, 'utf8').match(/<connect\.version>([^<]+)</)![1]!;
const DEBEZIUM_POMS = ['postgres', 'jdbc'].map((name) => {
  const pom = join(ROOT, `bench/debezium/${name}.pom.xml`);
  return { name, pom, version: readFileSync(pom, 'utf8').match(/<debezium\.version>([^<]+)</)![1]! };
});
const PG_URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PG_ROWS = Number(process.env.BENCH_PG_ROWS ?? 200_000);
const OUR_PORT = 18183;
const THEIR_PORT = 18184;
const CLK_TCK = 100;
const PAGE = 4096;

const backbone = new PlatformaticBackbone({
  connections: { admin: { brokers: [BROKER] }, producer: { brokers: [BROKER] }, consumer: { brokers: [BROKER] } },
  clientId: 'bench',
  logger: new LogManager({ level: 'ERROR' }).get('bench'),
});

interface Sample {
  side: 'ferry' | 'kafka-connect';
  seconds: number;
  recordsPerSec: number;
  cpuSeconds: number;
  cpuPerMillion: number;
  peakRssMiB: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 900_000, everyMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** user+system CPU seconds of a process and its threads, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

function peakRssMiB(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Counts newlines of a growing file incrementally. */
function lineCounter(path: string): () => number {
  let pos = 0;
  let lines = 0;
  const buf = Buffer.alloc(1 << 20);
  return () => {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return 0;
    }
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        pos += n;
        for (let i = 0; i < n; i++) if (buf[i] === 10) lines++;
      }
    } finally {
      closeSync(fd);
    }
    return lines;
  };
}

async function topicTotal(topic: string): Promise<number> {
  try {
    return (await backbone.admin().endOffsets(topic)).reduce((s, p) => s + p.offset, 0);
  } catch {
    return 0;
  }
}

/** ferry_sink_record_send_total of a connector, from the worker's Prometheus endpoint. */
async function sinkRecordsSent(port: number, connector: string): Promise<number> {
  const r = await http(port, 'GET', '/metrics').catch(() => ({ status: 0, text: '' }));
  let total = 0;
  for (const line of r.text.split('\n')) {
    if (line.startsWith('ferry_sink_record_send_total{') && line.includes(`connector="${connector}"`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

function value(i: number): string {
  // ~100 bytes of JSON per record.
  return JSON.stringify({ id: i, user: `user-${i % 1000}`, amount: (i % 10000) / 100, ts: 1_700_000_000_000 + i, note: 'x'.repeat(22) });
}

async function fillTopic(topic: string): Promise<void> {
  await backbone.admin().ensureTopics([{ topic, numPartitions: 1 }]);
  const p = backbone.producer({ clientId: 'bench-fill' });
  await p.connect();
  const batch = 2000;
  let next = 0;
  const worker = async () => {
    while (next < N) {
      const start = next;
      const n = Math.min(batch, N - start);
      next += n;
      await p.send(Array.from({ length: n }, (_, k) => ({ topic, key: Buffer.from(JSON.stringify(`k${start + k}`)), value: Buffer.from(value(start + k)) })));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  await p.disconnect();
}

async function fillFile(path: string): Promise<void> {
  const out = createWriteStream(path);
  for (let i = 0; i < N; i++) if (!out.write(value(i) + '\n')) await new Promise((r) => out.once('drain', r));
  await new Promise<void>((r, j) => out.end((err?: Error | null) => (err ? j(err) : r())));
}

async function connectLibs(): Promise<string> {
  const dir = join(cacheDir() as string, `kafka-connect-${CONNECT_VERSION}`, 'libs');
  await ensureDir(dir, fingerprint([POM]), (tmp: string) => mvnCopyDependencies(POM, tmp, { log: say }), { log: say, what: 'the Kafka Connect jar download' });
  return dir;
}

/** Kafka Connect's plugin.path holding Debezium's connectors, one folder (one class loader) each. */
async function debeziumPlugins(): Promise<string> {
  const root = join(cacheDir() as string, 'debezium-plugins');
  for (const { name, pom, version } of DEBEZIUM_POMS) {
    await ensureDir(join(root, `${name}-${version}`), fingerprint([pom]), (tmp: string) => mvnCopyDependencies(pom, tmp, { log: say }), { log: say, what: `the Debezium ${name} jar download` });
  }
  return root;
}

function say(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

interface Side {
  name: Sample['side'];
  proc: ChildProcess;
  port: number;
}

async function http(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, text: await r.text() };
}

async function startSide(name: Sample['side'], dir: string, libs: string, theirPlugins?: string): Promise<Side> {
  mkdirSync(dir, { recursive: true });
  let proc: ChildProcess;
  let port: number;
  if (name === 'ferry') {
    port = OUR_PORT;
    const cfg = join(dir, 'worker.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        'bootstrap.servers': BROKER,
        'rest.host.name': '127.0.0.1',
        'rest.port': port,
        'offset.storage.file.filename': join(dir, 'offsets'),
        'offset.flush.interval.ms': 1000,
        'connectors.dir': '',
        'key.converter': 'JsonConverter',
        'value.converter': 'JsonConverter',
        'key.converter.schemas.enable': 'false',
        'value.converter.schemas.enable': 'false',
        'plugin.path': join(ROOT, 'bench/noop-sink-plugin.mjs'),
        // FileStream connectors are opt-in on this worker; Kafka Connect's are on its classpath.
        'plugins.filestream.enable': true,
        'log.level': 'WARN',
      }),
    );
    // The flag its launchers use (the bin's shebang, npm start).
    proc = spawn(process.execPath, [...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_PROF] : []), ...(process.env.BENCH_NODE_FLAGS ?? '--max-semi-space-size=8').split(' ').filter(Boolean), join(ROOT, 'packages/worker/bin/connect-worker.mjs'), 'standalone', cfg], { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  } else {
    port = THEIR_PORT;
    const props = join(dir, 'worker.properties');
    writeFileSync(
      props,
      [
        `bootstrap.servers=${BROKER}`,
        `listeners=http://127.0.0.1:${port}`,
        `offset.storage.file.filename=${join(dir, 'offsets')}`,
        'offset.flush.interval.ms=1000',
        'key.converter=org.apache.kafka.connect.json.JsonConverter',
        'value.converter=org.apache.kafka.connect.json.JsonConverter',
        'key.converter.schemas.enable=false',
        'value.converter.schemas.enable=false',
        ...(theirPlugins ? [`plugin.path=${theirPlugins}`] : []),
        '',
      ].join('\n'),
    );
    const log4j = join(dir, 'log4j2.properties');
    writeFileSync(log4j, 'rootLogger.level=WARN\nrootLogger.appenderRef.stderr.ref=STDERR\nappender.stderr.type=Console\nappender.stderr.name=STDERR\nappender.stderr.target=SYSTEM_ERR\nappender.stderr.layout.type=PatternLayout\nappender.stderr.layout.pattern=%d %p %c: %m%n\n');
    proc = spawn(javaBin() as string, ['-Xms256M', '-Xmx2G', `-Dlog4j2.configurationFile=${log4j}`, '-cp', join(libs, '*'), 'org.apache.kafka.connect.cli.ConnectStandalone', props], {
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: dir,
    });
  }
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  let err = '';
  proc.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  try {
    await until(`${name} REST`, async () => {
      if (proc.exitCode !== null) throw new Error(`${name} exited: ${err}`);
      return (await http(port, 'GET', '/connectors').catch(() => ({ status: 0 }))).status === 200;
    }, 180_000, 250);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`${(e as Error).message}: ${err}`);
  }
  return { name, proc, port };
}

/** Throws with the trace when the connector or one of its tasks failed: waiting on would only time out. */
async function assertNotFailed(s: Side, name: string): Promise<void> {
  const r = await http(s.port, 'GET', `/connectors/${name}/status`).catch(() => undefined);
  if (r?.status !== 200) return;
  const st = JSON.parse(r.text) as { connector: { state: string; trace?: string }; tasks: Array<{ state: string; trace?: string }> };
  const failed = [st.connector, ...st.tasks].find((x) => x.state === 'FAILED');
  if (!failed) return;
  const lines = (failed.trace ?? '').split('\n');
  throw new Error(`${s.name}: ${name} failed: ${[lines[0], ...lines.filter((l) => l.startsWith('Caused by'))].join('\n')}`);
}

async function stopSide(s: Side): Promise<void> {
  s.proc.kill('SIGTERM');
  await Promise.race([new Promise((r) => s.proc.once('exit', r)), sleep(15000)]);
  if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
}

type Pipeline = 'kafka-to-file' | 'file-to-kafka' | 'kafka-to-noop' | 'pg-snapshot' | 'pg-stream' | 'pg-upsert';
const KAFKA_PIPELINES: Pipeline[] = ['kafka-to-file', 'file-to-kafka', 'kafka-to-noop'];
const PG_PIPELINES: Pipeline[] = ['pg-snapshot', 'pg-stream', 'pg-upsert'];
const isPg = (p: Pipeline) => p.startsWith('pg-');

async function withPg<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

/** The CDC source table both sides read, ~100 bytes a row as in the Kafka pipelines. */
async function fillPgTable(table: string): Promise<void> {
  await withPg(async (c) => {
    await c.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, "user" text NOT NULL, amount double precision NOT NULL, ts bigint NOT NULL, note text NOT NULL)`);
    await c.query(
      `INSERT INTO ${table} SELECT i, 'user-' || (i % 1000), (i % 10000) / 100.0, 1700000000000 + i, repeat('x', 22) FROM generate_series(0, $1 - 1) AS i`,
      [PG_ROWS],
    );
    await c.query(`VACUUM ANALYZE ${table}`);
  });
}

/** The sink's input: keys and values with their schemas (Debezium's JDBC sink needs them). */
async function fillPgInputTopic(topic: string): Promise<void> {
  await backbone.admin().ensureTopics([{ topic, numPartitions: 1 }]);
  const keySchema = '{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false,"name":"bench.Key"}';
  const valueSchema =
    '{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":false,"field":"user"},' +
    '{"type":"double","optional":false,"field":"amount"},{"type":"int64","optional":false,"field":"ts"},{"type":"string","optional":false,"field":"note"}],"optional":false,"name":"bench.Value"}';
  const p = backbone.producer({ clientId: 'bench-fill-pg' });
  await p.connect();
  try {
    // 500 records of ~700 bytes: a batch stays under the broker's message.max.bytes (1 MiB).
    for (let start = 0; start < PG_ROWS; start += 500) {
      const n = Math.min(500, PG_ROWS - start);
      await p.send(
        Array.from({ length: n }, (_, k) => ({
          topic,
          key: Buffer.from(`{"schema":${keySchema},"payload":{"id":${start + k}}}`),
          value: Buffer.from(`{"schema":${valueSchema},"payload":${value(start + k)}}`),
        })),
      );
    }
  } finally {
    await p.disconnect();
  }
}

/** Drops what a CDC run left in the server: its slot (once its walsender is gone) and its publication. */
async function dropPgRun(slot: string, publication: string): Promise<void> {
  await withPg(async (c) => {
    await until(`slot ${slot} released`, async () => {
      const r = await c.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      if (r.rowCount === 0) return true;
      if (r.rows[0].active) return false;
      await c.query('SELECT pg_drop_replication_slot($1)', [slot]).catch(() => undefined);
      return false;
    }, 60_000, 250);
    await c.query(`DROP PUBLICATION IF EXISTS ${publication}`);
  });
}

/** Rows in the table, 0 while the sink has not created it. */
async function pgCount(c: pg.Client, table: string): Promise<number> {
  return Number((await c.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n) || 0;
}

/** Connector configs of the pg-* pipelines, ours and Debezium's, for the same work. */
function pgConfig(pipeline: Pipeline, java: boolean, id: string): Record<string, string> {
  const u = new URL(PG_URL);
  if (pipeline === 'pg-upsert') {
    const converters = java
      ? { 'key.converter': 'org.apache.kafka.connect.json.JsonConverter', 'value.converter': 'org.apache.kafka.connect.json.JsonConverter' }
      : { 'key.converter': 'JsonConverter', 'value.converter': 'JsonConverter' };
    const common = { 'tasks.max': '1', topics: pgInputTopic, ...converters, 'key.converter.schemas.enable': 'true', 'value.converter.schemas.enable': 'true' };
    return java
      ? {
          ...common,
          'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector',
          'connection.url': `jdbc:postgresql://${u.host}${u.pathname}`,
          'connection.username': decodeURIComponent(u.username),
          'connection.password': decodeURIComponent(u.password) || 'unused',
          'insert.mode': 'upsert',
          'primary.key.mode': 'record_key',
          'primary.key.fields': 'id',
          'schema.evolution': 'basic',
          // The column "user" is a reserved word: ours quotes every identifier, theirs only when asked.
          'quote.identifiers': 'true',
          // Their fastest PostgreSQL write: one INSERT ... SELECT FROM unnest(...) per batch (off by default).
          'dialect.postgres.unnest.insert.enabled': 'true',
          'collection.name.format': id,
          'batch.size': '3000',
          // Kafka Connect hands put() at most max.poll.records (500) records: as many as our batches.
          'consumer.override.max.poll.records': '3000',
        }
      : { ...common, 'connector.class': 'PostgresSink', 'connection.url': PG_URL, 'insert.mode': 'upsert', 'pk.mode': 'record_key', 'pk.fields': 'id', 'auto.create': 'true', 'table.name.format': id, 'batch.size': '3000' };
  }
  const snapshot = pipeline === 'pg-snapshot';
  const common = { 'tasks.max': '1', 'topic.prefix': id, 'slot.name': id, 'publication.name': id, 'publication.autocreate.mode': 'filtered', 'table.include.list': `public.${pgTable}`, 'slot.drop.on.stop': 'true' };
  return java
    ? {
        ...common,
        'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
        'plugin.name': 'pgoutput',
        'database.hostname': u.hostname,
        'database.port': u.port || '5432',
        'database.user': decodeURIComponent(u.username),
        'database.password': decodeURIComponent(u.password) || 'unused',
        'database.dbname': u.pathname.slice(1),
        'snapshot.mode': snapshot ? 'initial' : 'no_data',
      }
    : { ...common, 'connector.class': 'PostgresCdcSource', 'connection.url': PG_URL, 'snapshot.mode': snapshot ? 'initial' : 'never' };
}

async function runOne(pipeline: Pipeline, side: Sample['side'], libs: string, runDir: string, theirPlugins?: string): Promise<Sample> {
  const tag = `${pipeline}-${side}-${Date.now().toString(36)}`;
  const dir = join(runDir, tag);
  const s = await startSide(side, dir, libs, theirPlugins);
  const records = isPg(pipeline) ? PG_ROWS : N;
  try {
    const java = side === 'kafka-connect';
    let config: Record<string, string>;
    let done: () => Promise<boolean> | boolean;
    /** Runs once the connector is created, before the clock starts. */
    let ready: (() => Promise<void>) | undefined;
    const name = `bench-${tag}`;
    if (isPg(pipeline)) {
      const id = `bench_${tag.replace(/[^a-z0-9]/g, '_')}`;
      config = pgConfig(pipeline, java, id);
      if (pipeline === 'pg-upsert') {
        // One connection polls the count for the whole run: a connection per poll forks a backend each time.
        const poll = new pg.Client({ connectionString: PG_URL });
        await poll.connect();
        cleanups.push(() => poll.end());
        done = async () => (await pgCount(poll, id).catch(() => 0)) >= records;
        cleanups.push(() => withPg((c) => c.query(`DROP TABLE IF EXISTS ${id}`)));
      } else {
        const topic = `${id}.public.${pgTable}`;
        done = async () => (await topicTotal(topic)) >= records;
        cleanups.push(() => dropPgRun(id, id));
        if (pipeline === 'pg-stream') {
          // Streams from the slot the connector creates: once it is active, every row changes in one
          // transaction, and the clock starts at its commit (pgoutput sends a transaction when it commits).
          ready = async () => {
            await withPg(async (c) => {
              await until(`${side}'s slot ${id}`, async () => (await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [id])).rowCount === 1, 180_000, 100);
              await c.query(`UPDATE ${pgTable} SET amount = amount + 1`);
            });
          };
          cleanups.push(() => withPg((c) => c.query(`VACUUM ${pgTable}`)));
        }
      }
    } else if (pipeline === 'file-to-kafka') {
      const file = join(runDir, 'input.jsonl');
      const topic = `bench-out-${tag}`;
      await backbone.admin().ensureTopics([{ topic, numPartitions: 1 }]);
      config = { 'connector.class': java ? 'org.apache.kafka.connect.file.FileStreamSourceConnector' : 'FileStreamSource', 'tasks.max': '1', file, topic, 'batch.size': '2000' };
      done = async () => (await topicTotal(topic)) >= N;
    } else {
      const topic = inputTopic;
      const toShm = pipeline === 'kafka-to-noop';
      if (toShm && !java) {
        config = { 'connector.class': 'NoopSink', 'tasks.max': '1', topics: topic };
        // put() is where a no-op sink's work ends (theirs writes each line at put() too): the worker's own counter.
        done = async () => (await sinkRecordsSent(s.port, name)) >= N;
      } else {
        const file = toShm ? join('/dev/shm', `${name}.out`) : join(dir, 'out.txt');
        config = java
          ? { 'connector.class': 'org.apache.kafka.connect.file.FileStreamSinkConnector', 'tasks.max': '1', file, topics: topic }
          : // Their FileStreamSink writes and flushes the stream, never fsyncs: the same work on our side.
            { 'connector.class': 'FileStreamSink', 'tasks.max': '1', file, topics: topic, 'file.sync': process.env.BENCH_FILE_SYNC ?? 'false' };
        const lines = lineCounter(file);
        done = () => lines() >= N;
        cleanups.push(() => rmSync(file, { force: true }));
      }
    }
    const pid = s.proc.pid!;
    let cpu0 = cpuSeconds(pid);
    let t0 = performance.now();
    const r = await http(s.port, 'POST', '/connectors', { name, config });
    if (r.status !== 201) throw new Error(`${side}: creating the connector answered ${r.status}: ${r.text}`);
    if (ready) {
      await ready();
      cpu0 = cpuSeconds(pid);
      t0 = performance.now();
    }
    // Not too often: the worker renders its metrics for every poll.
    let checked = Date.now();
    await until(`${side} ${pipeline}`, async () => {
      if (await done()) return true;
      if (Date.now() - checked > 2000) {
        checked = Date.now();
        await assertNotFailed(s, name);
      }
      return false;
    }, 900_000, pipeline === 'kafka-to-noop' && !java ? 200 : isPg(pipeline) ? 100 : 50);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    const rss = peakRssMiB(pid);
    await http(s.port, 'DELETE', `/connectors/${name}`).catch(() => undefined);
    return { side, seconds, recordsPerSec: records / seconds, cpuSeconds: cpu, cpuPerMillion: (cpu * 1e6) / records, peakRssMiB: rss };
  } finally {
    await stopSide(s);
    for (const c of cleanups.splice(0)) await c();
  }
}

const cleanups: Array<() => unknown> = [];
/** Worker processes of this run, killed if the benchmark is interrupted or fails. */
const live = new Set<ChildProcess>();
let inputTopic = '';
let pgTable = '';
let pgInputTopic = '';

/** Our connector and theirs, per pipeline. */
const LABELS: Record<Pipeline, [string, string]> = {
  'kafka-to-file': ['FileStreamSink', 'FileStreamSink'],
  'file-to-kafka': ['FileStreamSource', 'FileStreamSource'],
  'kafka-to-noop': ['no-op sink', 'FileStreamSink to /dev/shm'],
  'pg-snapshot': ['PostgresCdcSource', 'Debezium PostgresConnector'],
  'pg-stream': ['PostgresCdcSource', 'Debezium PostgresConnector'],
  'pg-upsert': ['PostgresSink', 'Debezium JdbcSinkConnector'],
};

function fmt(n: number, d = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
}

async function main(): Promise<void> {
  const pipelines = (process.env.BENCH_PIPELINES?.split(',') ?? (process.argv.includes('--postgres') ? PG_PIPELINES : KAFKA_PIPELINES)) as Pipeline[];
  const unknown = pipelines.filter((p) => !KAFKA_PIPELINES.includes(p) && !PG_PIPELINES.includes(p));
  if (unknown.length) throw new Error(`unknown pipeline(s) ${unknown.join(', ')}: pick from ${[...KAFKA_PIPELINES, ...PG_PIPELINES].join(', ')}`);
  const libs = await connectLibs();
  const theirPlugins = pipelines.some(isPg) ? await debeziumPlugins() : undefined;
  const runDir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'ferry-vs-kc-'));
  const stamp = Date.now().toString(36);
  say(`${ROUNDS} round(s); Kafka Connect ${CONNECT_VERSION}${theirPlugins ? `, Debezium ${DEBEZIUM_POMS.map((d) => `${d.name} ${d.version}`).join(', ')}` : ''}; files in ${runDir}`);
  if (pipelines.some((p) => !isPg(p))) {
    inputTopic = `bench-in-${stamp}`;
    say(`filling ${inputTopic} and the source file with ${N} records`);
    await fillTopic(inputTopic);
    await fillFile(join(runDir, 'input.jsonl'));
    say(`input: ${fmt(statSync(join(runDir, 'input.jsonl')).size / N)} bytes per record`);
  }
  if (pipelines.some(isPg)) {
    pgTable = `bench_src_${stamp}`;
    pgInputTopic = `bench-pg-in-${stamp}`;
    say(`filling table ${pgTable} and topic ${pgInputTopic} with ${PG_ROWS} rows`);
    await fillPgTable(pgTable);
    await fillPgInputTopic(pgInputTopic);
  }
  const sides = (process.env.BENCH_SIDES ?? 'ferry,kafka-connect').split(',');
  const rows: string[] = [];
  let k = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const pipeline of pipelines) {
      const order: Sample['side'][] = k++ % 2 === 0 ? ['ferry', 'kafka-connect'] : ['kafka-connect', 'ferry'];
      const res: Partial<Record<Sample['side'], Sample>> = {};
      for (const side of order) {
        if (!sides.includes(side)) continue;
        say(`${pipeline}: ${side}`);
        res[side] = await runOne(pipeline, side, libs, runDir, isPg(pipeline) ? theirPlugins : undefined);
        const x = res[side]!;
        say(`  ${fmt(x.recordsPerSec)} rec/s, ${fmt(x.seconds, 2)} s, CPU ${fmt(x.cpuSeconds, 2)} s (${fmt(x.cpuPerMillion, 2)} s per 1M), peak RSS ${fmt(x.peakRssMiB)} MiB`);
      }
      const a = res.ferry;
      const b = res['kafka-connect'];
      if (!a || !b) continue;
      const [ours, theirs] = LABELS[pipeline];
      rows.push(
        `| ${round + 1} | ${pipeline} (ours: ${ours}; theirs: ${theirs}) | ${order[0]} | ${fmt(a.recordsPerSec)} | ${fmt(b.recordsPerSec)} | ${fmt(a.recordsPerSec / b.recordsPerSec, 2)} | ${fmt(a.peakRssMiB)} | ${fmt(b.peakRssMiB)} | ${fmt(a.peakRssMiB / b.peakRssMiB, 2)} | ${fmt(a.cpuPerMillion, 2)} | ${fmt(b.cpuPerMillion, 2)} | ${fmt(a.cpuPerMillion / b.cpuPerMillion, 2)} |`,
      );
    }
  }
  process.stdout.write(
    [
      `\n${pipelines.some((p) => !isPg(p)) ? `${N} records per Kafka run` : ''}${pipelines.some(isPg) ? `${pipelines.some((p) => !isPg(p)) ? ', ' : ''}${PG_ROWS} rows per pg-* run` : ''}, tasks.max=1, JsonConverter (schemas off${pipelines.includes('pg-upsert') ? '; on for pg-upsert' : ''}), Kafka Connect ${CONNECT_VERSION} (-Xms256M -Xmx2G)${theirPlugins ? `, Debezium ${DEBEZIUM_POMS.map((d) => `${d.name} ${d.version}`).join(', ')}` : ''}, Node.js ${process.versions.node}`,
      '| round | pipeline | first | ferry rec/s | KC rec/s | ratio | ferry peak RSS MiB | KC peak RSS MiB | ratio | ferry CPU s/1M | KC CPU s/1M | ratio |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...rows,
      'targets: rec/s ratio >= 1.5, RSS ratio <= 0.33, CPU ratio <= 1.0',
      '',
    ].join('\n'),
  );
  rmSync(runDir, { recursive: true, force: true });
  if (pgTable) await withPg((c) => c.query(`DROP TABLE IF EXISTS ${pgTable}`));
  await backbone.close();
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    for (const p of live) p.kill('SIGKILL');
    process.exit(130);
  });
}

main().catch(async (err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  for (const p of live) p.kill('SIGKILL');
  if (pgTable) await withPg((c) => c.query(`DROP TABLE IF EXISTS ${pgTable}`)).catch(() => undefined);
  await backbone.close().catch(() => undefined);
  process.exit(1);
});
