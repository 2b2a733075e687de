import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
// @ts-expect-error: the scripts are plain JavaScript without types
import { ensureBaseImage, podman, podmanEnv } from '../scripts/podman-env.mjs';
import { BOOTSTRAP, readLines, requireStack, uniqueName, waitFor } from './harness/index.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const IMAGE = 'localhost/ferry-worker:test';
type Run = (args: string[], opts?: object) => { stdout: string; stderr: string; status: number };
const run = podman as Run;

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

async function rest(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

describe('Containers', () => {
  it('compose.yaml is valid: podman-compose accepts it (dry run) and it holds Kafka, PostgreSQL, Elasticsearch, S3 and three workers of one cluster', () => {
    // podman-compose 1.0 (Debian) has no `config` command: a dry run parses and resolves the file without starting anything.
    const dry = execFileSync('podman-compose', ['-f', join(ROOT, 'compose.yaml'), '-p', 'ferry-check', '--dry-run', 'up', '-d'], { cwd: ROOT, env: podmanEnv(), encoding: 'utf8' });
    for (const s of ['kafka', 'postgres', 'elasticsearch', 's3', 'worker1', 'worker2', 'worker3']) assert.match(dry, new RegExp(`--name=ferry-check_${s}_1 `), `podman-compose would start ${s}`);
    const json = execFileSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), encoding: 'utf8' });
    const cfg = JSON.parse(json) as { services: Record<string, { image?: string; build?: unknown; environment?: Record<string, string>; ports?: string[] }> };
    const workers = ['worker1', 'worker2', 'worker3'].map((w) => cfg.services[w]!);
    for (const w of workers) {
      assert.ok(w.build, 'workers are built from the Dockerfile');
      assert.equal(w.environment?.CONNECT_GROUP_ID, 'ferry');
      assert.equal(w.environment?.CONNECT_BOOTSTRAP_SERVERS, 'kafka:9092');
    }
    assert.equal(new Set(workers.map((w) => w.environment?.CONNECT_REST_ADVERTISED_HOST_NAME)).size, 3, 'each worker advertises its own address');
    assert.equal(new Set(workers.map((w) => String(w.ports?.[0]).split(':')[0])).size, 3, 'each worker on its own host port');
  });

  describe('three worker containers built from the Dockerfile', () => {
    const containers: string[] = [];
    before(async () => {
      await requireStack('kafka');
      ensureBaseImage((m: string) => console.log(m));
      // The host's CA bundle (and Node.js told to use it) so `npm ci` in the build reaches the registry as the host does.
      const ca = '/etc/ssl/certs/ca-certificates.crt';
      run(['build', '--network', 'host', '-v', `${ca}:${ca}:ro`, '--env', `NODE_EXTRA_CA_CERTS=${ca}`, '--build-arg', 'BASE=localhost/ferry-node-base', '-t', IMAGE, ROOT]);
    });
    after(() => {
      if (containers.length) run(['rm', '-f', '-t', '0', ...containers], { allowFailure: true });
    });

    it('holds no sources or tests, and the data folders belong to the worker user', () => {
      const out = run(['run', '--rm', '--network', 'host', '--entrypoint', 'sh', IMAGE, '-c', 'id -un; ls packages/worker; ls test 2>&1; stat -c %U /app/data /data']).stdout;
      const lines = out.trim().split('\n');
      assert.equal(lines[0], 'node');
      assert.ok(!out.includes('src'), `no sources in the image: ${out}`);
      assert.match(out, /No such file/, 'no test folder');
      assert.deepEqual(lines.slice(-2), ['node', 'node']);
    });

    it('kill -9 one worker container: its tasks run in the others, every record reaches the file', async () => {
      const group = uniqueName('ctr');
      const topic = `${group}-orders`;
      const gen = `${group}-gen`;
      const sink = `${group}-sink`;
      const outDir = mkdtempSync(join(tmpdir(), 'ferry-ctr-'));
      chmodSync(outDir, 0o777);
      const ports = await Promise.all([0, 1, 2].map(freePort));
      for (const port of ports) {
        const env = {
          CONNECT_GROUP_ID: group,
          CONNECT_BOOTSTRAP_SERVERS: BOOTSTRAP,
          CONNECT_REST_PORT: String(port),
          // Host networking: the API on loopback only (no credentials needed there); the sink writes with FileStreamSink.
          CONNECT_REST_HOST_NAME: '127.0.0.1',
          CONNECT_REST_AUTH_REQUIRED: 'auto',
          CONNECT_PLUGINS_FILESTREAM_ENABLE: 'true',
          CONNECT_REST_ADVERTISED_HOST_NAME: '127.0.0.1',
          CONNECT_CONFIG_STORAGE_TOPIC: `${group}-configs`,
          CONNECT_OFFSET_STORAGE_TOPIC: `${group}-offsets`,
          CONNECT_STATUS_STORAGE_TOPIC: `${group}-status`,
          CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR: '1',
          CONNECT_OFFSET_STORAGE_REPLICATION_FACTOR: '1',
          CONNECT_STATUS_STORAGE_REPLICATION_FACTOR: '1',
          CONNECT_OFFSET_STORAGE_PARTITIONS: '5',
          CONNECT_SCHEDULED_REBALANCE_MAX_DELAY_MS: '4000',
          CONNECT_SESSION_TIMEOUT_MS: '6000',
          CONNECT_HEARTBEAT_INTERVAL_MS: '500',
          CONNECT_OFFSET_FLUSH_INTERVAL_MS: '1000',
        };
        const args = ['run', '-d', '--init', '--network', 'host', '-v', `${outDir}:/out`, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), IMAGE];
        containers.push(run(args).stdout.trim());
      }
      for (const port of ports) await waitFor(async () => (await rest(port, 'GET', '/health')).status === 200, { timeoutMs: 60000, message: `worker on ${port} healthy` });
      const iterations = 2000;
      await waitFor(async () => (await rest(ports[1]!, 'POST', '/connectors', { name: gen, config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', iterations: String(iterations), 'max.interval': '4', 'tasks.max': '3' } })).status === 201, { timeoutMs: 30000, message: 'source created' });
      await waitFor(async () => (await rest(ports[2]!, 'POST', '/connectors', { name: sink, config: { 'connector.class': 'FileStreamSink', topics: topic, file: '/out/orders.jsonl' } })).status === 201, { timeoutMs: 30000, message: 'sink created' });
      const out = join(outDir, 'orders.jsonl');
      const status = await waitFor(
        async () => {
          const s = (await rest(ports[0]!, 'GET', `/connectors/${gen}/status`)).body as { tasks: Array<{ state: string; worker_id: string }> };
          return s.tasks?.length === 3 && s.tasks.every((t) => t.state === 'RUNNING') && new Set(s.tasks.map((t) => t.worker_id)).size >= 2 ? s : null;
        },
        { timeoutMs: 60000, message: 'source tasks spread and running' },
      );
      await waitFor(() => readLines(out).length > 300, { timeoutMs: 60000, message: 'records in the file' });
      const victimPort = Number(status.tasks[0]!.worker_id.split(':')[1]);
      const victim = containers[ports.indexOf(victimPort)]!;
      run(['kill', '-s', 'KILL', victim]);
      const killedAt = Date.now();
      const survivors = ports.filter((p) => p !== victimPort);
      await waitFor(
        async () => {
          const s = (await rest(survivors[0]!, 'GET', `/connectors/${gen}/status`)).body as { tasks: Array<{ state: string; worker_id: string }> };
          return s.tasks.every((t) => t.state === 'RUNNING' && t.worker_id !== `127.0.0.1:${victimPort}`);
        },
        { timeoutMs: 40000, message: 'tasks of the killed container running elsewhere' },
      );
      const gap = Date.now() - killedAt;
      assert.ok(gap <= 4000 + 10000, `failover within scheduled.rebalance.max.delay.ms + 10 s (${gap} ms)`);
      await waitFor(() => new Set(readLines(out).map((l) => (JSON.parse(l) as { orderid: number }).orderid)).size >= iterations * 3, { timeoutMs: 120000, message: 'every order in the file' });
      console.log(`container failover: ${gap} ms`);
    });
  });
});
