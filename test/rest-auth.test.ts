/**
 * REST with authentication on: HTTP Basic users and bearer tokens from
 * files, the read-only and admin roles, HTTPS with a certificate made here,
 * CORS, and a worker that refuses to listen on every interface without
 * credentials.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'ferry-auth-'));

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

function call(url: string, method: string, opts: { auth?: string; body?: unknown; ca?: Buffer; origin?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth) headers.authorization = opts.auth;
  if (opts.origin) headers.origin = opts.origin;
  const data = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  if (data) headers['content-type'] = 'application/json';
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((res, rej) => {
    const req = send(url, { method, headers, ca: opts.ca }, (r) => {
      let text = '';
      r.on('data', (d) => (text += d));
      r.on('end', () => {
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          /* metrics */
        }
        res({ status: r.statusCode ?? 0, headers: r.headers, body });
      });
    });
    req.on('error', rej);
    req.end(data);
  });
}

const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

/** A scrypt hash made by the worker's own command. */
function hashPassword(pw: string): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=development', join(ROOT, 'packages/worker/src/bin.ts'), 'hash-password'], { input: pw, cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('REST authentication, roles and HTTPS', () => {
  let w: WorkerHandle;
  let httpsUrl: string;
  let cert: Buffer;
  const TOKEN = 'ci-token-9f1b2c3d4e5f60718293a4b5c6d7e8f9';
  const KEY_PASSPHRASE = 'tls-key-passphrase-77';

  before(async () => {
    await requireStack('kafka');
    // a self-signed certificate for 127.0.0.1 made with the openssl CLI (node has no X.509 generator),
    // its key encrypted with a passphrase the worker reads through a config provider
    writeFileSync(join(dir, 'tls.properties'), `key.password=${KEY_PASSPHRASE}\n`, { mode: 0o600 });
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-passout', `pass:${KEY_PASSPHRASE}`, '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'pipe' });
    cert = readFileSync(join(dir, 'cert.pem'));
    writeFileSync(join(dir, 'keystore.pem'), Buffer.concat([readFileSync(join(dir, 'key.pem')), cert]), { mode: 0o600 });
    writeFileSync(join(dir, 'users'), `# user: password[,role]\nroot: ${hashPassword('root-pw')},admin\nviewer: viewer,pw,read-only\n`, { mode: 0o600 });
    const sha = createHash('sha256').update(TOKEN).digest('hex');
    writeFileSync(join(dir, 'tokens'), `ci: sha256:${sha},admin\ndashboard: dash-token-1234\n`, { mode: 0o600 });
    w = await startWorker({
      workerConfig: {
        listeners: 'http://127.0.0.1:0,https://127.0.0.1:0',
        'listeners.https.ssl.keystore.location': join(dir, 'keystore.pem'),
        'listeners.https.ssl.key.password': `\${file:${dir}/tls.properties:key.password}`,
        'config.providers': 'file',
        'config.providers.file.class': 'FileConfigProvider',
        'config.providers.file.param.allowed.paths': dir,
        'rest.auth.credentials.file': join(dir, 'users'),
        'rest.auth.tokens.file': join(dir, 'tokens'),
        'rest.auth.unauthenticated.paths': '/health',
        'access.control.allow.origin': 'http://console.example',
        'access.control.allow.methods': 'GET,POST,PUT,DELETE',
      },
    });
    const m = /"url":"(https:\/\/127\.0\.0\.1:\d+)"[^\n]*REST API listening/.exec(w.logs());
    assert.ok(m, 'https listener logged');
    httpsUrl = m[1]!;
  });
  after(async () => w?.stop());

  it('401 with WWW-Authenticate without (or with wrong) credentials; /health served when configured', async () => {
    for (const auth of [undefined, basic('root', 'wrong'), basic('nobody', 'x'), 'Bearer not-a-token', 'Basic !!!']) {
      const r = await call(`${w.url}/connectors`, 'GET', { auth });
      assert.equal(r.status, 401, String(auth));
      assert.equal(r.body.error_code, 401);
      const challenge = String(r.headers['www-authenticate']);
      assert.match(challenge, /Basic realm="ferry"/);
      assert.match(challenge, /Bearer realm="ferry"/);
    }
    assert.equal((await call(`${w.url}/health`, 'GET')).status, 200);
    assert.equal((await call(`${w.url}/metrics`, 'GET')).status, 401, 'only the listed paths are public');
    assert.equal((await call(`${w.url}/no/such/route`, 'GET')).status, 401, 'unknown routes answer nothing before authentication');
    assert.equal((await call(`${w.url}/connectors`, 'POST', { body: { name: 'x', config: {} } })).status, 401);
  });

  it('read-only users read (200) and may not write (403)', async () => {
    const viewer = basic('viewer', 'viewer,pw');
    assert.equal((await call(`${w.url}/connectors`, 'GET', { auth: viewer })).status, 200);
    assert.equal((await call(`${w.url}/connector-plugins`, 'GET', { auth: viewer })).status, 200);
    const name = uniqueName('ro');
    const create = await call(`${w.url}/connectors`, 'POST', { auth: viewer, body: { name, config: { 'connector.class': 'DatagenSource', 'kafka.topic': name } } });
    assert.equal(create.status, 403);
    assert.match(create.body.message, /admin role/);
    assert.equal((await call(`${w.url}/connector-plugins/DatagenSource/config/validate`, 'PUT', { auth: viewer, body: { 'kafka.topic': 'x' } })).status, 403);
    assert.equal((await call(`${w.url}/admin/loggers/root`, 'PUT', { auth: viewer, body: { level: 'DEBUG' } })).status, 403);
    const dash = 'Bearer dash-token-1234';
    assert.equal((await call(`${w.url}/connectors`, 'GET', { auth: dash })).status, 200);
    assert.equal((await call(`${w.url}/connectors/${name}`, 'DELETE', { auth: dash })).status, 403);
  });

  it('admins (Basic with a scrypt-hashed password, or a bearer token) may write', async () => {
    const root = basic('root', 'root-pw');
    const name = uniqueName('admin');
    const create = await call(`${w.url}/connectors`, 'POST', { auth: root, body: { name, config: { 'connector.class': 'DatagenSource', 'kafka.topic': name, 'max.interval': '500' } } });
    assert.equal(create.status, 201, JSON.stringify(create.body));
    assert.equal((await call(`${w.url}/connectors`, 'GET', { auth: root })).status, 200);
    assert.equal((await call(`${w.url}/connectors/${name}/pause`, 'PUT', { auth: `Bearer ${TOKEN}` })).status, 202);
    assert.equal((await call(`${w.url}/connectors/${name}`, 'DELETE', { auth: `Bearer ${TOKEN}` })).status, 204);
    assert.ok(!w.logs().includes('root-pw') && !w.logs().includes(TOKEN), 'credentials never logged');
  });

  it('serves HTTPS with the PEM keystore (its key passphrase from a config provider); clients that do not trust it fail', async () => {
    assert.ok(readFileSync(join(dir, 'key.pem'), 'utf8').includes('ENCRYPTED'), 'the key is encrypted');
    assert.ok(!w.logs().includes(KEY_PASSPHRASE));
    const ok = await call(`${httpsUrl}/connectors`, 'GET', { auth: basic('root', 'root-pw'), ca: cert });
    assert.equal(ok.status, 200);
    assert.equal((await call(`${httpsUrl}/connectors`, 'GET', { ca: cert })).status, 401);
    await assert.rejects(call(`${httpsUrl}/connectors`, 'GET', { auth: basic('root', 'root-pw') }), /self[- ]signed|unable to verify|certificate/i);
  });

  it('CORS only for the configured origin', async () => {
    const pre = await call(`${w.url}/connectors`, 'OPTIONS', { origin: 'http://console.example', headers: { 'access-control-request-method': 'POST' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'http://console.example');
    assert.equal(pre.headers['access-control-allow-methods'], 'GET,POST,PUT,DELETE');
    const get = await call(`${w.url}/connectors`, 'GET', { origin: 'http://console.example', auth: basic('root', 'root-pw') });
    assert.equal(get.headers['access-control-allow-origin'], 'http://console.example');
    const other = await call(`${w.url}/connectors`, 'GET', { origin: 'http://evil.example', auth: basic('root', 'root-pw') });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    const write = await call(`${w.url}/connectors`, 'POST', { origin: 'http://evil.example', auth: basic('root', 'root-pw'), body: { name: 'x', config: {} } });
    assert.equal(write.status, 403);
  });

  it('takes a rotated password without a restart', async () => {
    const users = readFileSync(join(dir, 'users'), 'utf8');
    writeFileSync(join(dir, 'users'), users.replace('viewer: viewer,pw,read-only', 'viewer: rotated-pw,read-only'));
    try {
      await waitFor(async () => (await call(`${w.url}/connectors`, 'GET', { auth: basic('viewer', 'rotated-pw') })).status === 200, { message: 'rotated password accepted' });
      assert.equal((await call(`${w.url}/connectors`, 'GET', { auth: basic('viewer', 'viewer,pw') })).status, 401);
      assert.equal((await call(`${w.url}/connectors`, 'GET', { auth: basic('root', 'root-pw') })).status, 200);
    } finally {
      writeFileSync(join(dir, 'users'), users);
    }
  });

  it('refuses to listen on every interface without credentials unless told otherwise', async () => {
    await assert.rejects(startWorker({ workerConfig: { 'rest.host.name': '0.0.0.0' } }), /REST authentication is required/);
    await assert.rejects(startWorker({ workerConfig: { 'rest.auth.required': 'true' } }), /REST authentication is required/);
  });
});
