/**
 * The attacks a caller of the REST API could mount on a worker, one test per
 * hole: each fails on a worker that resolves config providers for anyone,
 * accepts non-JSON bodies, stores resolved task configs, hands a stored
 * secret to a new URL, writes dead-letter headers unredacted or loads
 * FileStream connectors by default.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { consume, produce, requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const PLUGINS = fileURLToPath(new URL('./fixtures/security-plugins.ts', import.meta.url));

const ENV_SECRET = 'env-attack-Zq81';
const FILE_SECRET = 'file-attack-Pw42';
const DIR_SECRET = 'dir-attack-Hn77';
const OUTSIDE_SECRET = 'outside-attack-Xy55';
const OTHER_ENV_SECRET = 'other-attack-Qq11';
const LITERAL_SECRET = 'literal-attack-Lm93';
const ALL_SECRETS = [ENV_SECRET, FILE_SECRET, DIR_SECRET, OUTSIDE_SECRET, OTHER_ENV_SECRET, LITERAL_SECRET];

const base = mkdtempSync(join(tmpdir(), 'ferry-attack-'));
const secretsDir = join(base, 'secrets');
const outsideDir = join(base, 'outside');
mkdirSync(secretsDir);
mkdirSync(outsideDir);
writeFileSync(join(secretsDir, 'db.properties'), `password=${FILE_SECRET}\n`);
writeFileSync(join(secretsDir, 'hostname'), `${DIR_SECRET}\n`);
writeFileSync(join(outsideDir, 'hostname'), `${OUTSIDE_SECRET}\n`);
writeFileSync(join(outsideDir, 'db.properties'), `password=${OUTSIDE_SECRET}\n`);

const REFS = {
  file: `\${file:${secretsDir}/db.properties:password}`,
  env: '${env:ATTACK_SECRET}',
  directory: `\${directory:${secretsDir}:hostname}`,
};
const OUTSIDE_REFS = [`\${file:${outsideDir}/db.properties:password}`, `\${directory:${outsideDir}:hostname}`, '${env:OTHER_SECRET}'];

const ENV = { ATTACK_SECRET: ENV_SECRET, OTHER_SECRET: OTHER_ENV_SECRET };

/** A raw HTTP request with the headers a browser or a rebinding page would send. */
function raw(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function assertNoSecret(text: string, where: string): void {
  for (const s of ALL_SECRETS) assert.ok(!text.includes(s), `${where} reveals ${s}: ${text.slice(0, 600)}`);
}

describe('Attacks on the REST API and the stored files', () => {
  /** A worker as shipped: no config providers declared, FileStream off. */
  let open: WorkerHandle;
  /** A worker whose operator declared providers for connectors, confined to one folder and ATTACK_* variables. */
  let declared: WorkerHandle;

  before(async () => {
    await requireStack('kafka');
    [open, declared] = await Promise.all([
      startWorker({ workerConfig: { 'plugins.filestream.enable': false, 'plugin.path': PLUGINS }, env: ENV }),
      startWorker({
        workerConfig: {
          'plugins.filestream.enable': false,
          'plugin.path': `${PLUGINS},FileStreamSink`,
          'config.providers': 'file,env,directory',
          'config.providers.file.class': 'org.apache.kafka.common.config.provider.FileConfigProvider',
          'config.providers.file.param.allowed.paths': secretsDir,
          'config.providers.env.class': 'org.apache.kafka.common.config.provider.EnvVarConfigProvider',
          'config.providers.env.param.allowlist.pattern': 'ATTACK_.*',
          'config.providers.directory.class': 'org.apache.kafka.common.config.provider.DirectoryConfigProvider',
          'config.providers.directory.param.allowed.paths': secretsDir,
        },
        env: ENV,
      }),
    ]);
  });
  after(async () => {
    await Promise.all([open?.stop(), declared?.stop()]);
  });

  it('validate reads no file, environment variable or directory', async () => {
    for (const w of [open, declared]) {
      for (const ref of [...Object.values(REFS), ...OUTSIDE_REFS]) {
        const r = await w.request('PUT', '/connector-plugins/DatagenSource/config/validate', {
          'connector.class': 'DatagenSource',
          'kafka.topic': 't',
          'tasks.max': ref,
          'max.interval': ref,
        });
        assert.equal(r.status, 200);
        assertNoSecret(JSON.stringify(r.body), `validate with ${ref}`);
      }
    }
    // the shipped worker declares no provider: the reference is an error naming it
    const r = await open.request('PUT', '/connector-plugins/DatagenSource/config/validate', { 'connector.class': 'DatagenSource', 'kafka.topic': 't', 'tasks.max': REFS.directory });
    const tasksMax = r.body.configs.find((c: { value: { name: string } }) => c.value.name === 'tasks.max').value;
    assert.match(tasksMax.errors.join(' '), /"directory" is not declared/);
    // a declared provider: a path outside allowed.paths is named, its content is not (KIP-993)
    const out = await declared.request('PUT', '/connector-plugins/DatagenSource/config/validate', { 'connector.class': 'DatagenSource', 'kafka.topic': 't', 'tasks.max': OUTSIDE_REFS[1] });
    const err = out.body.configs.find((c: { value: { name: string } }) => c.value.name === 'tasks.max').value.errors.join(' ');
    assert.match(err, new RegExp(`Path ${outsideDir} is not allowed by config.providers.directory.param.allowed.paths`));
    // an allowed reference is only checked to exist: no error, no value
    const ok = await declared.request('PUT', '/connector-plugins/DatagenSource/config/validate', { name: 'ok', 'connector.class': 'DatagenSource', 'kafka.topic': 't', 'max.interval': REFS.env });
    assert.equal(ok.body.error_count, 0, JSON.stringify(ok.body));
  });

  it('create answers 400 without reading them', async () => {
    for (const w of [open, declared]) {
      for (const ref of [...OUTSIDE_REFS, ...(w === open ? Object.values(REFS) : [])]) {
        const r = await w.request('POST', '/connectors', { name: uniqueName('steal'), config: { 'connector.class': 'DatagenSource', 'kafka.topic': 't', 'tasks.max': ref } });
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assertNoSecret(JSON.stringify(r.body), `create with ${ref}`);
      }
    }
  });

  it('task configs (GET .../tasks and connect.configs) keep the placeholders; failures show [hidden]', async () => {
    const name = uniqueName('tasks');
    const r = await declared.request('POST', '/connectors', {
      name,
      config: { 'connector.class': 'DatagenSource', 'kafka.topic': name, 'max.interval': '200', 'tasks.max': '2', greeting: REFS.env, motd: `hello ${REFS.directory}!` },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await declared.waitForRunning(name);
    const tasks = await declared.request('GET', `/connectors/${name}/tasks`);
    assert.equal(tasks.body.length, 2);
    assert.equal(tasks.body[0].config.greeting, REFS.env);
    assert.equal(tasks.body[1].config.motd, `hello ${REFS.directory}!`);
    for (const path of [`/connectors/${name}/tasks`, `/connectors/${name}`, `/connectors/${name}/config`, `/connectors/${name}/status`, '/connectors?expand=info&expand=status']) {
      assertNoSecret(JSON.stringify((await declared.request('GET', path)).body), path);
    }
    const stored = readFileSync(join(declared.dir, 'data/connect.configs'), 'utf8');
    assertNoSecret(stored, 'connect.configs');
    assert.ok(stored.includes('${env:ATTACK_SECRET}'));

    // a resolved value that fails the connector's own checks shows as [hidden] in the status trace
    const bad = uniqueName('badval');
    assert.equal((await declared.request('POST', '/connectors', { name: bad, config: { 'connector.class': 'DatagenSource', 'kafka.topic': bad, 'max.interval': REFS.file } })).status, 201);
    const st = await waitFor(async () => {
      const s = await declared.request('GET', `/connectors/${bad}/status`);
      return s.body.connector.state === 'FAILED' ? s.body : null;
    }, { message: `${bad} FAILED` });
    assertNoSecret(JSON.stringify(st), 'status trace');
    assert.match(st.connector.trace, /\[hidden\]/);
  });

  it('a text/plain or form body cannot create a connector (415), nor a cross-origin page (403)', async () => {
    const name = uniqueName('csrf');
    const body = JSON.stringify({ name, config: { 'connector.class': 'DatagenSource', 'kafka.topic': name } });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await raw(`${open.url}/connectors`, 'POST', { 'content-type': type }, body);
      assert.equal(r.status, 415, type);
      assert.equal(JSON.parse(r.body).error_code, 415);
    }
    const cross = await raw(`${open.url}/connectors`, 'POST', { 'content-type': 'application/json', origin: 'http://evil.example' }, body);
    assert.equal(cross.status, 403);
    const rebinding = await raw(`${open.url}/connectors`, 'GET', { host: `evil.example:${open.port}` });
    assert.equal(rebinding.status, 421);
    assert.equal((await raw(`${open.url}/connectors`, 'GET', { host: `localhost:${open.port}` })).status, 200);
    assert.equal((await open.request('GET', `/connectors/${name}`)).status, 404, 'nothing was created');
  });

  it('"[hidden]" cannot send a stored secret to a new URL (PUT or PATCH), but keeps it for other changes', async () => {
    const name = uniqueName('vault');
    const config = { 'connector.class': 'VaultSink', topics: name, 'connection.url': 'https://db.internal:9443', 'connection.password': LITERAL_SECRET };
    assert.equal((await open.request('PUT', `/connectors/${name}/config`, config)).status, 201);
    const shown = (await open.request('GET', `/connectors/${name}/config`)).body;
    assert.equal(shown['connection.password'], '[hidden]');
    const steal = await open.request('PUT', `/connectors/${name}/config`, { ...shown, 'connection.url': 'https://attacker.example' });
    assert.equal(steal.status, 400, JSON.stringify(steal.body));
    assert.match(steal.body.message, /connection\.url/);
    const patch = await open.request('PATCH', `/connectors/${name}/config`, { 'connection.url': 'https://attacker.example' });
    assert.equal(patch.status, 400, JSON.stringify(patch.body));
    assert.match(patch.body.message, /connection\.url/);
    const swap = await open.request('PUT', `/connectors/${name}/config`, { ...shown, 'connector.class': 'DatagenSource', 'kafka.topic': name });
    assert.equal(swap.status, 400, 'changing the connector class keeps no secret');
    // the same connection, another option: the stored secret is kept
    const fine = await open.request('PUT', `/connectors/${name}/config`, { ...shown, 'index.prefix': 'y' });
    assert.equal(fine.status, 200, JSON.stringify(fine.body));
    // "[hidden]" for a secret never stored is refused, not stored as a password
    const none = await open.request('PUT', `/connectors/${uniqueName('none')}/config`, { ...config, 'connection.password': '[hidden]' });
    assert.equal(none.status, 400, JSON.stringify(none.body));
    // a changed secret is not a changed connection
    const rotated = await open.request('PUT', `/connectors/${name}/config`, { ...shown, 'connection.password': 'rotated-pw' });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    // a new URL with the secret sent again is fine
    const moved = await open.request('PATCH', `/connectors/${name}/config`, { 'connection.url': 'https://db2.internal:9443', 'connection.password': 'another-pw' });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    const stored = JSON.parse(readFileSync(join(open.dir, 'data/connect.configs'), 'utf8')).find((c: { name: string }) => c.name === name);
    assert.equal(stored.config['connection.url'], 'https://db2.internal:9443');
    assert.equal(stored.config['connection.password'], 'another-pw');
  });

  it('stored files hold no resolved secret', async () => {
    const name = uniqueName('stored');
    const r = await declared.request('POST', '/connectors', {
      name,
      config: { 'connector.class': 'VaultSink', topics: name, 'connection.url': 'https://db.internal', 'connection.password': REFS.file, 'index.prefix': REFS.directory },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await declared.waitForRunning(name);
    await waitFor(() => existsSync(join(declared.dir, 'data/connect.offsets')), { message: 'offsets file' });
    for (const f of ['connect.configs', 'connect.offsets']) assertNoSecret(readFileSync(join(declared.dir, 'data', f), 'utf8'), f);
    const stored = JSON.parse(readFileSync(join(declared.dir, 'data/connect.configs'), 'utf8')).find((c: { name: string }) => c.name === name);
    assert.equal(stored.tasks[0]['connection.password'], REFS.file);
    assert.equal(stored.tasks[0]['index.prefix'], REFS.directory);
  });

  it('stored files are readable by the worker user only (0600)', async () => {
    await waitFor(() => existsSync(join(declared.dir, 'data/connect.offsets')), { message: 'offsets file' });
    for (const w of [open, declared]) {
      for (const f of ['connect.configs', 'connect.offsets']) {
        const p = join(w.dir, 'data', f);
        if (!existsSync(p)) continue;
        assert.equal(statSync(p).mode & 0o777, 0o600, p);
      }
    }
    assert.equal(statSync(join(open.dir, 'data/connect.configs')).mode & 0o777, 0o600);
  });

  it('dead-letter headers carry no secret', async () => {
    const name = uniqueName('dlq');
    const r = await declared.request('POST', '/connectors', {
      name,
      config: {
        'connector.class': 'VaultSink',
        topics: name,
        'connection.url': 'https://db.internal',
        'connection.password': REFS.file,
        'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
        'errors.tolerance': 'all',
        'errors.deadletterqueue.topic.name': `${name}-dlq`,
        'errors.deadletterqueue.context.headers.enable': 'true',
      },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await declared.waitForRunning(name);
    await produce(name, [{ value: 'a' }, { value: 'b' }]);
    const dead = await consume(`${name}-dlq`, { count: 2 });
    const message = String(dead[0]!.headers['__connect.errors.exception.message']);
    assert.match(message, /login to https:\/\/db.internal as admin:\[hidden\] refused/);
    for (const m of dead) for (const [k, v] of Object.entries(m.headers)) assertNoSecret(String(v), `DLQ header ${k}`);
  });

  it('FileStreamSink is not available unless the operator enables it', async () => {
    const list = (await open.request('GET', '/connector-plugins')).body.map((p: { class: string }) => p.class);
    assert.ok(!list.includes('FileStreamSink') && !list.includes('FileStreamSource'), JSON.stringify(list));
    const target = join(base, 'written-by-attacker.txt');
    const r = await open.request('POST', '/connectors', { name: uniqueName('fs'), config: { 'connector.class': 'org.apache.kafka.connect.file.FileStreamSinkConnector', topics: 'x', file: target } });
    assert.equal(r.status, 400);
    assert.equal((await open.request('PUT', '/connector-plugins/FileStreamSink/config/validate', { 'connector.class': 'FileStreamSink' })).status, 404);
    // plugin.path naming it enables exactly that one
    const named = (await declared.request('GET', '/connector-plugins')).body.map((p: { class: string }) => p.class);
    assert.ok(named.includes('FileStreamSink') && !named.includes('FileStreamSource'), JSON.stringify(named));
    assert.ok(!existsSync(target));
  });

  it('no log line carries a resolved or literal secret', () => {
    for (const w of [open, declared]) assertNoSecret(w.logs(), `logs of ${w.dir}`);
  });
});
