import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOOTSTRAP } from './kafka.js';
import { waitFor } from './util.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const TSX = join(ROOT, 'node_modules/tsx/dist/esm/index.mjs');
const BIN = join(ROOT, 'packages/worker/src/bin.ts');
/**
 * The Node.js flags every launcher gives the worker (scripts/start.mjs,
 * bin/connect-worker.mjs, the Docker image): a worker under test, a benchmark
 * or a soak sizes its memory as one that users run.
 */
export const WORKER_NODE_FLAGS = ['--max-semi-space-size=8'];

export interface HttpAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface WorkerHandle {
  /** REST base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  /** Process id (signals such as SIGSTOP/SIGCONT). */
  pid: number;
  /** The worker's folder: worker.json, data/ (offsets, configs), connectors/, worker.log */
  dir: string;
  /** Calls the REST API; bodies are JSON. */
  request<T = any>(method: string, path: string, body?: unknown): Promise<HttpAnswer<T>>;
  /** Graceful stop (SIGTERM), waits for exit. */
  stop(): Promise<void>;
  /** kill -9, waits for exit. */
  kill(): Promise<void>;
  /** Everything the worker logged so far. */
  logs(): string;
  /** Waits until GET /connectors/{name}/status shows the connector and all tasks (at least one) RUNNING. */
  waitForRunning(name: string, timeoutMs?: number): Promise<void>;
}

export interface StartOptions {
  /** Extra worker options; the harness sets bootstrap.servers, rest.port 0, files under `dir`, connectors.dir, plugins.filestream.enable. */
  workerConfig?: Record<string, unknown>;
  /** Reuse a folder (to restart a worker on the same offsets/configs). */
  dir?: string;
  /** Connector files deployed at start (written into dir/connectors/). */
  connectors?: Array<{ name: string; config: Record<string, unknown> }>;
  env?: NodeJS.ProcessEnv;
  /** `distributed` runs `connect-worker distributed` (the caller sets group.id and the storage topics). */
  mode?: 'standalone' | 'distributed';
  /** Node.js flags of the worker process (default WORKER_NODE_FLAGS, as the launchers set). */
  nodeFlags?: string[];
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Starts a real worker process (standalone mode) against the local Kafka. */
export async function startWorker(opts: StartOptions = {}): Promise<WorkerHandle> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'ferry-worker-'));
  mkdirSync(join(dir, 'connectors'), { recursive: true });
  const workerConfig = {
    'bootstrap.servers': BOOTSTRAP,
    'rest.port': 0,
    'rest.host.name': '127.0.0.1',
    'offset.storage.file.filename': join(dir, 'data/connect.offsets'),
    'offset.flush.interval.ms': 1000,
    'connectors.dir': join(dir, 'connectors'),
    'connectors.dir.poll.interval.ms': 500,
    'consumer.session.timeout.ms': 8000,
    'consumer.heartbeat.interval.ms': 1000,
    // Tests write their sink output with FileStreamSink (off by default in a worker).
    'plugins.filestream.enable': true,
    ...opts.workerConfig,
  };
  writeFileSync(join(dir, 'worker.json'), JSON.stringify(workerConfig, null, 2));
  for (const c of opts.connectors ?? []) writeFileSync(join(dir, 'connectors', `${c.name}.json`), JSON.stringify(c, null, 2));
  const logFile = join(dir, 'worker.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  const child: ChildProcess = spawn(process.execPath, [...(opts.nodeFlags ?? WORKER_NODE_FLAGS), '--import', TSX, '--conditions=development', BIN, opts.mode ?? 'standalone', join(dir, 'worker.json')], {
    cwd: dir,
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', FERRY_EXIT_WITH_PARENT: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  let port = 0;
  const onData = (d: Buffer) => {
    const s = d.toString();
    output += s;
    log.write(s);
    if (!port) {
      const m = /"port":(\d+)[^\n]*REST API listening/.exec(output);
      if (m) port = Number(m[1]);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      live.delete(child);
      r();
    }),
  );
  let alive = true;
  void exited.then(() => {
    alive = false;
  });
  await waitFor(() => port > 0 || !alive, { timeoutMs: 120000, message: 'worker REST port' });
  if (!port) throw new Error(`Worker exited during startup:\n${output}`);
  const url = `http://127.0.0.1:${port}`;
  const handle: WorkerHandle = {
    url,
    port,
    pid: child.pid!,
    dir,
    async request(method, path, body) {
      const res = await fetch(url + path, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON (metrics) */
      }
      return { status: res.status, body: parsed as any, headers: res.headers };
    },
    async stop() {
      if (!alive) return;
      child.kill('SIGTERM');
      await exited;
      log.end();
    },
    async kill() {
      if (!alive) return;
      child.kill('SIGKILL');
      await exited;
      log.end();
    },
    logs: () => output,
    async waitForRunning(name, timeoutMs = 60000) {
      await waitFor(
        async () => {
          const r = await handle.request('GET', `/connectors/${encodeURIComponent(name)}/status`);
          return r.status === 200 && r.body.connector.state === 'RUNNING' && r.body.tasks.length > 0 && r.body.tasks.every((t: { state: string }) => t.state === 'RUNNING') ? r.body : null;
        },
        { timeoutMs, message: `${name} RUNNING` },
      );
    },
  };
  await waitFor(async () => (await handle.request('GET', '/health')).status === 200, { timeoutMs: 120000, message: 'worker healthy' });
  return handle;
}

/** Kills every worker this process started (use in `after` hooks so a failed test never hangs). */
export async function killAllWorkers(): Promise<void> {
  const waits = [...live].map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))));
  for (const c of live) c.kill('SIGKILL');
  await Promise.all(waits);
}

/** Reads a file's lines ('' when it does not exist). */
export function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}
