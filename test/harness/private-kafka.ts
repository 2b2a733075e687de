/**
 * A private, single-node Kafka broker (KRaft) for tests that stop and restart
 * the broker: the shared one on 9092 serves everyone else. Jars come from the
 * stack's cache ($STACK_CACHE/kafka/libs); data lives in a temp folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { waitFor } from './util.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

function libsDir(): string {
  const cache = process.env.STACK_CACHE ?? join(ROOT, '.cache');
  const dir = join(cache, 'kafka', 'libs');
  if (!existsSync(dir)) throw new Error(`Kafka jars not found in ${dir}: run \`node scripts/stack.mjs up kafka\` once (it caches them)`);
  return dir;
}

function javaBin(): string {
  if (process.env.JAVA_HOME && existsSync(join(process.env.JAVA_HOME, 'bin', 'java'))) return join(process.env.JAVA_HOME, 'bin', 'java');
  return 'java';
}

export interface PrivateKafka {
  bootstrap: string;
  dir: string;
  /** Stops the broker: SIGTERM (clean) or SIGKILL (crash); waits for the process to end. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same data and ports; resolves once it answers metadata requests. */
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  destroy(): Promise<void>;
  logs(): string;
}

/** Starts a private broker on `port` (controller on `port + 1`). */
export async function startPrivateKafka(opts: { port?: number; heapMb?: number } = {}): Promise<PrivateKafka> {
  const port = opts.port ?? 19092;
  const controller = port + 1;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-kafka-'));
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  const props = join(dir, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controller}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${data}`,
      'num.partitions=1',
      'default.replication.factor=1',
      'auto.create.topics.enable=true',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'num.network.threads=2',
      'num.io.threads=2',
      '',
    ].join('\n'),
  );
  const log4j = join(dir, 'log4j2.properties');
  writeFileSync(log4j, 'status = warn\nappender.out.type = Console\nappender.out.name = OUT\nappender.out.layout.type = PatternLayout\nappender.out.layout.pattern = [%d] %p %m (%c)%n\nrootLogger.level = WARN\nrootLogger.appenderRef.out.ref = OUT\n');
  const cp = join(libsDir(), '*');
  const clusterId = randomBytes(16).toString('base64url').replace(/^-/, 'A');
  const fmt = spawnSync(javaBin(), [`-Dlog4j2.configurationFile=${log4j}`, '-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props], { encoding: 'utf8' });
  if (fmt.status !== 0) throw new Error(`formatting the private Kafka storage failed: ${fmt.stderr || fmt.stdout}`);
  const logFile = join(dir, 'kafka.log');
  let child: ChildProcess | undefined;
  const bootstrap = `127.0.0.1:${port}`;

  const ready = async () => {
    const kafka = new Kafka({ clientId: 'private-kafka-probe', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 });
    await waitFor(
      async () => {
        if (!child || child.exitCode !== null) throw new Error(`the private Kafka exited (${child?.exitCode}): ${handle.logs().slice(-2000)}`);
        const admin = kafka.admin();
        try {
          await admin.connect();
          await admin.describeCluster();
          return true;
        } catch {
          return false;
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
      },
      { timeoutMs: 120_000, intervalMs: 500, message: `the private Kafka on ${bootstrap}` },
    );
  };

  const handle: PrivateKafka = {
    bootstrap,
    dir,
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) return;
      const out = createWriteStream(logFile, { flags: 'a' });
      const heap = `${opts.heapMb ?? 384}m`;
      child = spawn(
        javaBin(),
        [`-Xms${heap}`, `-Xmx${heap}`, '-XX:+UseG1GC', '-XX:+ExitOnOutOfMemoryError', `-Dlog4j2.configurationFile=${log4j}`, '-cp', cp, 'kafka.Kafka', props],
        { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout!.pipe(out);
      child.stderr!.pipe(out);
      await ready();
    },
    async stop(signal = 'SIGTERM') {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const ended = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill(signal);
      const t = setTimeout(() => c.kill('SIGKILL'), 60_000);
      await ended;
      clearTimeout(t);
    },
    async destroy() {
      await handle.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
    logs: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
  process.once('exit', () => child?.kill('SIGKILL'));
  await handle.start();
  return handle;
}
