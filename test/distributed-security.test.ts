/**
 * Distributed mode behind the same protections as a standalone worker:
 * REST authentication and roles on every worker (writes forwarded to the
 * leader with the caller's credentials and authorized there), the signed
 * internal endpoint as the only route served without user credentials,
 * config provider references resolved with the worker's providers and never
 * written resolved to the config topic, and the cluster's own Kafka clients
 * (group, store topics) over the stack's SASL_SSL listener.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { consume, killAllWorkers, readLines, requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';
import { requireSecureKafka, scramJaas } from './harness/secure-kafka.js';
import { clusterConfig as sharedClusterConfig } from './harness/cluster.js';

const clusterConfig = (group: string, extra: Record<string, unknown> = {}) =>
  sharedClusterConfig(group, { 'offset.storage.partitions': 3, 'status.storage.partitions': 2, ...extra });

function isLeader(w: WorkerHandle): boolean {
  const joins = w.logs().split('\n').filter((l) => l.includes('"Joined group"'));
  return joins.length > 0 && joins[joins.length - 1]!.includes('"leader":true');
}

const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

async function call(w: WorkerHandle, method: string, path: string, opts: { auth?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth) headers.authorization = opts.auth;
  const data = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  if (data !== undefined) headers['content-type'] ??= 'application/json';
  const r = await fetch(w.url + path, { method, headers, body: data });
  const text = await r.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: r.status, body };
}

/** The cluster's session key, read from its config topic as any worker reads it. */
async function sessionKey(configTopic: string): Promise<Buffer> {
  const records = await consume(configTopic, { timeoutMs: 30000, settleMs: 500 });
  const rec = records.filter((m) => m.key?.toString() === 'session-key').pop();
  assert.ok(rec?.value, 'a session key in the config topic');
  return Buffer.from(String((JSON.parse(rec.value.toString()) as { key: string }).key), 'base64');
}

describe('Distributed mode security', () => {
  after(killAllWorkers);

  describe('REST authentication and config providers', () => {
    before(async () => requireStack('kafka'));

    it('guards every worker: 401 without credentials, 403 for a read-only write on a follower, an admin write forwarded and applied; only validly signed internal requests pass without credentials; provider references resolved, never stored resolved', async () => {
      const group = uniqueName('dist-sec');
      const dir = mkdtempSync(join(tmpdir(), 'ferry-dist-sec-'));
      writeFileSync(join(dir, 'users'), 'root: root-pw-5e1f,admin\nviewer: viewer-pw-77aa,read-only\n');
      const secretTopic = `${group}-secret-topic-9c4d`;
      const extra = {
        'rest.auth.credentials.file': join(dir, 'users'),
        'rest.auth.unauthenticated.paths': '/health',
        'config.providers': 'env',
        'config.providers.env.class': 'org.apache.kafka.common.config.provider.EnvVarConfigProvider',
        'config.providers.env.param.allowlist.pattern': 'DIST_SEC_.*',
      };
      const env = { DIST_SEC_TOPIC: secretTopic };
      const workers = await Promise.all([0, 1].map(() => startWorker({ mode: 'distributed', workerConfig: clusterConfig(group, extra), env })));
      await waitFor(() => workers.filter(isLeader).length === 1 && workers.every((w) => w.logs().includes('"Joined group"')), { timeoutMs: 30000, message: 'both workers in the group, one leader' });
      const leader = workers.find(isLeader)!;
      const follower = workers.find((w) => !isLeader(w))!;
      const root = basic('root', 'root-pw-5e1f');
      const viewer = basic('viewer', 'viewer-pw-77aa');

      for (const w of workers) {
        assert.equal((await call(w, 'GET', '/connectors')).status, 401, 'reads need credentials');
        assert.equal((await call(w, 'GET', '/connectors', { auth: basic('root', 'wrong') })).status, 401);
        assert.equal((await call(w, 'POST', '/connectors', { body: { name: 'x', config: {} } })).status, 401, 'writes need credentials before any forwarding');
        assert.equal((await call(w, 'GET', '/no/such/route')).status, 401);
        assert.equal((await call(w, 'GET', '/connectors', { auth: viewer })).status, 200);
        assert.equal((await call(w, 'POST', '/connectors', { auth: root, body: 'name=x', headers: { 'content-type': 'text/plain' } })).status, 415);
      }

      const name = `${group}-gen`;
      const config = { 'connector.class': 'DatagenSource', 'kafka.topic': '${env:DIST_SEC_TOPIC}', quickstart: 'orders', iterations: '50', 'max.interval': '5', 'tasks.max': '2' };
      const denied = await call(follower, 'POST', '/connectors', { auth: viewer, body: { name, config } });
      assert.equal(denied.status, 403, JSON.stringify(denied.body));
      assert.equal((await call(leader, 'GET', `/connectors/${name}`, { auth: root })).status, 404, 'the denied write was not applied');

      const created = await call(follower, 'POST', '/connectors', { auth: root, body: { name, config } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      await waitFor(
        async () => {
          const s = await call(leader, 'GET', `/connectors/${name}/status`, { auth: viewer });
          return s.status === 200 && s.body.connector.state === 'RUNNING' && s.body.tasks.length === 2 && s.body.tasks.every((t: { state: string }) => t.state === 'RUNNING');
        },
        { timeoutMs: 60000, message: `${name} RUNNING with 2 tasks` },
      );
      // The reference resolved with the worker's provider: records land in the resolved topic.
      const produced = await consume(secretTopic, { count: 100, timeoutMs: 60000 });
      assert.equal(produced.length, 100);

      // The config topic holds the placeholder, never the resolved value (connector and task configs).
      const records = await consume(`${group}-configs`, { timeoutMs: 30000, settleMs: 1000 });
      const taskRecords = records.filter((m) => m.key?.toString().startsWith(`task-${name}-`));
      assert.equal(taskRecords.length, 2, 'two task config records');
      for (const m of records) assert.ok(!m.value?.toString().includes(secretTopic), `resolved value in config topic record ${m.key}`);
      for (const m of taskRecords) assert.ok(m.value!.toString().includes('${env:DIST_SEC_TOPIC}'), `task config keeps the placeholder: ${m.value}`);
      const tasks = await call(follower, 'GET', `/connectors/${name}/tasks`, { auth: viewer });
      assert.equal(tasks.status, 200);
      for (const t of tasks.body as Array<{ config: Record<string, string> }>) assert.equal(t.config['kafka.topic'], '${env:DIST_SEC_TOPIC}');

      // The internal endpoint: without a signature it is an ordinary route (credentials first); a bad signature is refused.
      const body = JSON.stringify([{ 'kafka.topic': 'hijacked' }]);
      for (const w of workers) {
        assert.equal((await call(w, 'POST', `/connectors/${name}/tasks`, { body })).status, 401, 'unsigned, no credentials');
        const bad = await call(w, 'POST', `/connectors/${name}/tasks`, { body, headers: { 'x-connect-authorization': 'AAAA', 'x-connect-request-signature-algorithm': 'HmacSHA256' } });
        assert.equal(bad.status, 403, JSON.stringify(bad.body));
        const unsignedAdmin = await call(w, 'POST', `/connectors/${name}/tasks`, { body, auth: root });
        assert.equal(unsignedAdmin.status, 400, 'user credentials do not replace the signature');
      }
      // Signed with another key (a body signed correctly but not with the cluster's key).
      const wrongKey = createHmac('sha256', Buffer.alloc(32, 7)).update(body).digest('base64');
      assert.equal((await call(leader, 'POST', `/connectors/${name}/tasks`, { body, headers: { 'x-connect-authorization': wrongKey, 'x-connect-request-signature-algorithm': 'HmacSHA256' } })).status, 403);
      // A valid signature passes without user credentials (an unknown connector then answers 404 on the leader).
      const key = await sessionKey(`${group}-configs`);
      const ghost = JSON.stringify([]);
      const sig = createHmac('sha256', key).update(ghost).digest('base64');
      const signed = await call(leader, 'POST', `/connectors/${group}-ghost/tasks`, { body: ghost, headers: { 'x-connect-authorization': sig, 'x-connect-request-signature-algorithm': 'HmacSHA256' } });
      assert.equal(signed.status, 404, JSON.stringify(signed.body));
      // Task configs untouched by the refused requests.
      const after = await call(leader, 'GET', `/connectors/${name}/tasks`, { auth: viewer });
      for (const t of after.body as Array<{ config: Record<string, string> }>) assert.equal(t.config['kafka.topic'], '${env:DIST_SEC_TOPIC}');

      for (const w of workers) {
        const logs = w.logs();
        assert.ok(!logs.includes('root-pw-5e1f') && !logs.includes('viewer-pw-77aa'), 'credentials never logged');
        assert.ok(!logs.includes(secretTopic), 'values from config providers are scrubbed from logs');
      }
      await Promise.all(workers.map((w) => w.stop()));
    });

    it('forwards over HTTPS when the advertised listener is https', async () => {
      const group = uniqueName('dist-https');
      const dir = mkdtempSync(join(tmpdir(), 'ferry-dist-https-'));
      // A self-signed certificate for 127.0.0.1 (openssl CLI); the workers trust it through NODE_EXTRA_CA_CERTS.
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'pipe' });
      writeFileSync(join(dir, 'keystore.pem'), Buffer.concat([readFileSync(join(dir, 'key.pem')), readFileSync(join(dir, 'cert.pem'))]), { mode: 0o600 });
      writeFileSync(join(dir, 'users'), 'root: root-pw-31aa,admin\n');
      const extra = {
        listeners: 'http://127.0.0.1:0,https://127.0.0.1:0',
        'listeners.https.ssl.keystore.location': join(dir, 'keystore.pem'),
        'rest.advertised.listener': 'https',
        'rest.auth.credentials.file': join(dir, 'users'),
        'rest.auth.unauthenticated.paths': '/health',
      };
      const workers = await Promise.all([0, 1].map(() => startWorker({ mode: 'distributed', workerConfig: clusterConfig(group, extra), env: { NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') } })));
      await waitFor(() => workers.filter(isLeader).length === 1 && workers.every((w) => w.logs().includes('"Joined group"')), { timeoutMs: 30000, message: 'both workers in the group, one leader' });
      const leader = workers.find(isLeader)!;
      const follower = workers.find((w) => !isLeader(w))!;
      const name = `${group}-gen`;
      const root = basic('root', 'root-pw-31aa');
      const created = await call(follower, 'POST', '/connectors', { auth: root, body: { name, config: { 'connector.class': 'DatagenSource', 'kafka.topic': `${group}-t`, iterations: '10', 'tasks.max': '2' } } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      await waitFor(
        async () => {
          const s = await call(leader, 'GET', `/connectors/${name}/status`, { auth: root });
          return s.status === 200 && s.body.tasks.length === 2 ? s.body : null;
        },
        { timeoutMs: 60000, message: `${name} with its 2 tasks` },
      );
      // Worker ids (and the URLs forwarded to) carry the https listener's port, not the http one.
      const s = await call(leader, 'GET', `/connectors/${name}/status`, { auth: root });
      const ids = new Set([s.body.connector.worker_id, ...s.body.tasks.map((t: { worker_id: string }) => t.worker_id)]);
      for (const id of ids) assert.ok(!id.endsWith(`:${leader.port}`) && !id.endsWith(`:${follower.port}`), `worker id ${id} is not an http port`);
      await Promise.all(workers.map((w) => w.stop()));
    });

    it('refuses FileStream connectors unless plugins.filestream.enable=true', async () => {
      const group = uniqueName('dist-fs');
      const w = await startWorker({ mode: 'distributed', workerConfig: clusterConfig(group, { 'plugins.filestream.enable': false }) });
      await waitFor(() => isLeader(w), { timeoutMs: 30000, message: 'the worker leads its group' });
      const plugins = await w.request('GET', '/connector-plugins');
      assert.ok(!(plugins.body as Array<{ class: string }>).some((p) => /FileStream/.test(p.class)), JSON.stringify(plugins.body));
      const r = await w.request('POST', '/connectors', { name: `${group}-fs`, config: { 'connector.class': 'FileStreamSink', topics: 't', file: join(w.dir, 'out') } });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      await w.stop();
    });
  });

  describe('secured Kafka (SASL_SSL + SCRAM) for the cluster', () => {
    it('forms a 2-worker cluster over SASL_SSL, runs Datagen -> FileStreamSink, fails over after kill -9', async () => {
      const kafka = await requireSecureKafka();
      const group = uniqueName('dist-sasl');
      const secure = {
        'bootstrap.servers': kafka.bootstrap,
        'security.protocol': 'SASL_SSL',
        'ssl.truststore.type': 'PEM',
        'ssl.truststore.location': kafka.caFile,
        'sasl.mechanism': 'SCRAM-SHA-256',
        'sasl.jaas.config': scramJaas('ferry', kafka.users.ferry!),
        'consumer.sasl.mechanism': 'SCRAM-SHA-512',
      };
      const workers = await Promise.all([0, 1].map(() => startWorker({ mode: 'distributed', workerConfig: clusterConfig(group, secure) })));
      await waitFor(() => workers.filter(isLeader).length === 1 && workers.every((w) => w.logs().includes('"Joined group"')), { timeoutMs: 45000, message: 'both workers in the group over SASL_SSL' });
      const leader = workers.find(isLeader)!;
      const follower = workers.find((w) => !isLeader(w))!;
      const topic = `${group}-orders`;
      const out = join(mkdtempSync(join(tmpdir(), 'ferry-dist-sasl-')), 'orders.jsonl');
      const iterations = 400;
      const gen = `${group}-gen`;
      const sink = `${group}-sink`;
      assert.equal((await follower.request('POST', '/connectors', { name: gen, config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', iterations: String(iterations), 'max.interval': '10', 'tasks.max': '2' } })).status, 201);
      assert.equal((await follower.request('POST', '/connectors', { name: sink, config: { 'connector.class': 'FileStreamSink', topics: topic, file: out, 'tasks.max': '1' } })).status, 201);
      for (const name of [gen, sink]) await leader.waitForRunning(name, 60000);
      await waitFor(() => readLines(out).length > 100, { timeoutMs: 60000, message: 'records flowing over SASL_SSL' });

      await follower.kill();
      const survivorId = `127.0.0.1:${leader.port}`;
      for (const name of [gen, sink]) {
        await waitFor(
          async () => {
            const s = await leader.request('GET', `/connectors/${name}/status`);
            return s.status === 200 && s.body.connector.worker_id === survivorId && s.body.tasks.length > 0 && s.body.tasks.every((t: { state: string; worker_id: string }) => t.state === 'RUNNING' && t.worker_id === survivorId);
          },
          { timeoutMs: 45000, message: `${name} running on the survivor` },
        );
      }
      const expected = iterations * 2;
      await waitFor(() => new Set(readLines(out).map((l) => (JSON.parse(l) as { orderid: number }).orderid)).size >= expected, { timeoutMs: 90000, message: `all ${expected} orders in the file` });
      for (const w of workers) for (const pw of Object.values(kafka.users)) assert.ok(!w.logs().includes(pw), 'no SCRAM password in the logs');
      await leader.stop();
    });
  });
});
