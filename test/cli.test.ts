import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { runFerry } from '../packages/worker/src/ferry/program.ts';
import { EXIT } from '../packages/worker/src/ferry/client.ts';
import { requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const PLUGINS = join(ROOT, 'test/fixtures/test-plugins.ts');

interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs ferry in this process against the worker (env: only what is passed). */
async function ferry(url: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runFerry(['node', 'ferry', '--url', url, ...args], { out: (s) => void (out += s), err: (s) => void (err += s), isTTY: false, env });
  return { code, out, err };
}

/** Runs the real `ferry` executable (sources through tsx), for exit codes and environment variables. */
function ferryProcess(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=development', join(ROOT, 'packages/worker/src/ferry-bin.ts'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => res({ code: code ?? -1, out, err }));
  });
}

describe('ferry CLI against a real worker', () => {
  let w: WorkerHandle;
  const name = uniqueName('cli');
  const dir = mkdtempSync(join(tmpdir(), 'ferry-cli-'));
  const conn = (interval: string) => ({ name, config: { 'connector.class': 'DatagenSource', 'kafka.topic': name, quickstart: 'orders', 'max.interval': interval } });

  before(async () => {
    await requireStack('kafka');
    w = await startWorker({ workerConfig: { 'plugin.path': PLUGINS } });
    mkdirSync(join(dir, 'apply'));
    writeFileSync(join(dir, 'apply', `${name}.json`), JSON.stringify(conn('100')));
  });
  after(async () => w?.stop());

  it('apply --dry-run shows the diff and creates nothing', async () => {
    const r = await ferry(w.url, ['apply', '-f', join(dir, 'apply'), '--dry-run']);
    assert.equal(r.code, EXIT.OK, r.err);
    assert.match(r.err, new RegExp(`\\+ ${name} \\(new\\)`));
    assert.match(r.err, /\+ max\.interval: 100/);
    assert.match(r.out, /create \(dry run\)/);
    assert.equal((await w.request('GET', `/connectors/${name}`)).status, 404);
  });

  it('apply --dry-run of an invalid file reports the option and exits INVALID', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `name: ${name}-bad\nconfig:\n  connector.class: DatagenSource\n  kafka.topic: x\n  tasks.max: zero\n`);
    const r = await ferry(w.url, ['apply', '-f', bad, '--dry-run']);
    assert.equal(r.code, EXIT.INVALID);
    assert.match(r.err, /tasks\.max: /);
    const v = await ferry(w.url, ['validate', '-f', bad]);
    assert.equal(v.code, EXIT.INVALID);
    assert.match(v.out, /tasks\.max/);
  });

  it('apply --wait creates the connector and waits for RUNNING with progress', async () => {
    const r = await ferry(w.url, ['apply', '-f', join(dir, 'apply'), '--wait']);
    assert.equal(r.code, EXIT.OK, r.err);
    assert.match(r.err, /waiting for .* to be RUNNING/);
    assert.match(r.err, new RegExp(`${name} is RUNNING`));
    const s = await w.request('GET', `/connectors/${name}/status`);
    assert.equal(s.body.connector.state, 'RUNNING');
  });

  it('apply shows a change, then nothing when unchanged', async () => {
    writeFileSync(join(dir, 'apply', `${name}.json`), JSON.stringify(conn('200')));
    const r = await ferry(w.url, ['apply', '-f', join(dir, 'apply')]);
    assert.equal(r.code, EXIT.OK, r.err);
    assert.match(r.err, /~ max\.interval: 100 -> 200/);
    assert.equal((await w.request('GET', `/connectors/${name}/config`)).body['max.interval'], '200');
    const again = await ferry(w.url, ['apply', '-f', join(dir, 'apply')]);
    assert.match(again.err, /unchanged/);
  });

  it('get connectors in table, json and yaml', async () => {
    await w.waitForRunning(name);
    const t = await ferry(w.url, ['get', 'connectors']);
    assert.equal(t.code, EXIT.OK);
    assert.match(t.out, /^NAME\s+TYPE\s+STATE\s+TASKS\s+FAILED\s+CLASS/);
    assert.match(t.out, new RegExp(`${name}\\s+source\\s+RUNNING\\s+1/1\\s+0\\s+DatagenSource`));
    const j = JSON.parse((await ferry(w.url, ['-o', 'json', 'get', 'connectors'])).out);
    assert.equal(j[name].status.connector.state, 'RUNNING');
    const y = parseYaml((await ferry(w.url, ['get', 'connectors'], { FERRY_OUTPUT: 'yaml' })).out);
    assert.equal(y[name].info.type, 'source');
    const p = await ferry(w.url, ['get', 'plugins']);
    assert.match(p.out, /DatagenSource\s+source/);
    assert.match(p.out, /FlakySource/);
  });

  it('describe shows config, tasks, topics and offsets', async () => {
    await waitFor(async () => ((await w.request('GET', `/connectors/${name}/offsets`)).body.offsets ?? []).length > 0, { message: 'source offsets flushed' });
    const r = await ferry(w.url, ['describe', name]);
    assert.equal(r.code, EXIT.OK, r.err);
    assert.match(r.out, /Type:\s+source/);
    assert.match(r.out, /kafka\.topic = /);
    assert.match(r.out, /Tasks \(1\):\n\s+0\s+RUNNING/);
    assert.match(r.out, new RegExp(`Topics:\\s+${name}`));
    assert.match(r.out, /Offsets:\n\s+\{.*\} -> \{.*\}/);
    const y = parseYaml((await ferry(w.url, ['-o', 'yaml', 'describe', name])).out);
    assert.equal(y.status.tasks[0].state, 'RUNNING');
  });

  it('pause, stop, offsets set/reset, resume', async () => {
    assert.equal((await ferry(w.url, ['pause', name, '--wait'])).code, EXIT.OK);
    assert.equal((await w.request('GET', `/connectors/${name}/status`)).body.connector.state, 'PAUSED');
    const early = await ferry(w.url, ['offsets', 'reset', name]);
    assert.equal(early.code, EXIT.INVALID, 'offsets change only when STOPPED');
    const s = await ferry(w.url, ['stop', name, '--wait']);
    assert.equal(s.code, EXIT.OK, s.err);
    assert.match(s.err, /is STOPPED/);
    const before = JSON.parse((await ferry(w.url, ['-o', 'json', 'offsets', 'get', name])).out);
    assert.ok(before.offsets.length > 0);
    const partition = before.offsets[0].partition;
    const set = await ferry(w.url, ['offsets', 'set', name, '--partition', JSON.stringify(partition), '--offset', JSON.stringify({ ...before.offsets[0].offset, seq: 5 })]);
    assert.equal(set.code, EXIT.OK, set.err);
    const after = (await w.request('GET', `/connectors/${name}/offsets`)).body.offsets;
    assert.equal(after[0].offset.seq, 5);
    const reset = await ferry(w.url, ['offsets', 'reset', name]);
    assert.equal(reset.code, EXIT.OK, reset.err);
    assert.deepEqual((await w.request('GET', `/connectors/${name}/offsets`)).body.offsets, []);
    const resumed = await ferry(w.url, ['resume', name, '--wait']);
    assert.equal(resumed.code, EXIT.OK, resumed.err);
  });

  it('restart --failed restarts a failed task; --wait on a failing connector exits WAIT_FAILED', async () => {
    const flaky = `${name}-flaky`;
    const marker = join(dir, 'marker');
    const file = join(dir, 'flaky.json');
    writeFileSync(
      file,
      JSON.stringify({ name: flaky, config: { 'connector.class': 'FlakySource', topic: flaky, 'marker.file': marker, 'errors.task.restart.enable': 'false', 'api.password': 's3cret-pw' } }),
    );
    const applied = await ferry(w.url, ['apply', '-f', file, '--wait']);
    assert.equal(applied.code, EXIT.WAIT_FAILED, applied.err);
    assert.match(applied.err, /task 0 FAILED/);
    assert.doesNotMatch(applied.err + applied.out, /s3cret-pw/);
    const g = await ferry(w.url, ['get', 'connectors']);
    assert.match(g.out, new RegExp(`${flaky}\\s+source\\s+RUNNING\\s+0/1\\s+1!`));
    const d = await ferry(w.url, ['describe', flaky]);
    assert.match(d.out, /0\s+FAILED!/);
    assert.match(d.out, /transient failure/);
    assert.doesNotMatch(d.out, /s3cret-pw/);
    const r = await ferry(w.url, ['restart', flaky, '--failed', '--wait']);
    assert.equal(r.code, EXIT.OK, r.err);
    assert.equal((await w.request('GET', `/connectors/${flaky}/status`)).body.tasks[0].state, 'RUNNING');
    // A second apply of the same file: the secret reads back hidden and is never printed.
    const again = await ferry(w.url, ['apply', '-f', file, '--dry-run']);
    assert.doesNotMatch(again.err + again.out, /s3cret-pw/);
  });

  it('logs lists and sets logger levels', async () => {
    const set = await ferry(w.url, ['logs', `connector.${name}`, 'DEBUG']);
    assert.equal(set.code, EXIT.OK, set.err);
    const list = await ferry(w.url, ['logs']);
    assert.match(list.out, new RegExp(`connector\\.${name}\\s+DEBUG`));
    const bad = await ferry(w.url, ['logs', 'root', 'LOUD']);
    assert.equal(bad.code, EXIT.INVALID);
  });

  it('delete, then not found; unreachable worker; usage errors', async () => {
    const d = await ferry(w.url, ['delete', name]);
    assert.equal(d.code, EXIT.OK, d.err);
    const gone = await ferry(w.url, ['describe', name]);
    assert.equal(gone.code, EXIT.NOT_FOUND);
    assert.match(gone.err, /404/);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const down = await ferry(`http://127.0.0.1:${port}`, ['get', 'connectors']);
    assert.equal(down.code, EXIT.UNREACHABLE);
    assert.match(down.err, /Cannot reach the worker .*ECONNREFUSED/);
    assert.equal((await ferry(w.url, ['offsets'])).code, EXIT.USAGE, 'a command group without its subcommand');
    assert.equal((await ferry(w.url, ['--help'])).code, EXIT.OK);
    assert.equal((await ferry(w.url, ['frobnicate'])).code, EXIT.USAGE);
    assert.equal((await ferry(w.url, ['apply'])).code, EXIT.USAGE);
  });

  it('the executable: FERRY_URL, exit codes of the process', async () => {
    const ok = await ferryProcess(['get', 'plugins', '-o', 'json'], { FERRY_URL: w.url });
    assert.equal(ok.code, 0, ok.err);
    assert.ok(JSON.parse(ok.out).some((p: { class: string }) => p.class === 'DatagenSource'));
    const missing = await ferryProcess(['describe', 'no-such-connector'], { FERRY_URL: w.url });
    assert.equal(missing.code, EXIT.NOT_FOUND, missing.err);
  });
});

describe('ferry credentials', () => {
  it('sends a bearer token or Basic credentials, and maps 401 to AUTH', async () => {
    const seen: Array<string | undefined> = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error_code: 401, message: 'Unauthorized' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const t = await ferry(url, ['--token', 'tok-123', 'get', 'connectors']);
      assert.equal(t.code, EXIT.AUTH);
      assert.equal(seen.at(-1), 'Bearer tok-123');
      await ferry(url, ['--user', 'admin:pw', 'get', 'connectors']);
      assert.equal(seen.at(-1), `Basic ${Buffer.from('admin:pw').toString('base64')}`);
      await ferry(url, ['get', 'connectors'], { FERRY_USER: 'ops', FERRY_PASSWORD: 'pw2' });
      assert.equal(seen.at(-1), `Basic ${Buffer.from('ops:pw2').toString('base64')}`);
      await ferry(url, ['get', 'connectors']);
      assert.equal(seen.at(-1), undefined);
    } finally {
      server.close();
    }
  });
});

describe('ferry test and lint (offline)', () => {
  it('runs the example pipeline tests of configs/tests', async () => {
    const r = await ferry('http://127.0.0.1:1', ['test', join(ROOT, 'configs/tests')]);
    assert.equal(r.code, EXIT.OK, r.out + r.err);
    assert.match(r.out, /3\/3 passed/);
  });

  it('fails on a wrong expectation, naming the field', async () => {
    const r = await ferry('http://127.0.0.1:1', ['test', join(ROOT, 'test/fixtures/pipeline-tests/wrong')]);
    assert.equal(r.code, EXIT.TEST_FAILED);
    assert.match(r.out, /FAIL\s+a wrong expectation is reported/);
    assert.match(r.out, /records\[0\]\.value: expected \{"id":1,"card":"4111111111111111"\}, got \{"id":1,"card":""\}/);
  });

  it('loads third-party plugins and checks an expected failure', async () => {
    const dir = join(ROOT, 'test/fixtures/pipeline-tests/plugins');
    const r = await ferry('http://127.0.0.1:1', ['test', dir, '--plugin-path', PLUGINS]);
    assert.equal(r.code, EXIT.OK, r.out + r.err);
    assert.match(r.out, /PASS\s+a failing source is reported with its trace/);
    const without = await ferry('http://127.0.0.1:1', ['test', dir]);
    assert.equal(without.code, EXIT.TEST_FAILED);
    assert.match(without.out, /unknown connector class "FlakySource"/);
  });

  it('lints connector files without a worker', async () => {
    const good = await ferry('http://127.0.0.1:1', ['lint', join(ROOT, 'configs/connectors')]);
    assert.equal(good.code, EXIT.OK, good.out + good.err);
    assert.match(good.out, /2 file\(s\) valid/);
    const dir = mkdtempSync(join(tmpdir(), 'ferry-lint-'));
    writeFileSync(
      join(dir, 'bad.yaml'),
      'name: bad\nconfig:\n  connector.class: FileStreamSink\n  file: /tmp/x\n  transforms: t\n  transforms.t.type: NoSuchTransform\n',
    );
    const bad = await ferry('http://127.0.0.1:1', ['-o', 'json', 'lint', dir]);
    assert.equal(bad.code, EXIT.INVALID);
    const problems = JSON.parse(bad.out).problems as Array<{ option: string }>;
    assert.ok(problems.some((p) => p.option === 'topics'), JSON.stringify(problems));
    assert.ok(problems.some((p) => p.option.startsWith('transforms.t')), JSON.stringify(problems));
  });
});

describe('ferry jobs against a real chunked job', () => {
  const PG_URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const ROWS = 300_000;
  const tag = uniqueName('clijob');
  const table = tag.replace(/-/g, '_');
  let w: WorkerHandle;
  let db: pg.Client;
  const bulk = (name: string) => ({
    name,
    config: {
      'connector.class': 'PostgresSource', 'connection.url': PG_URL, mode: 'bulk', 'table.include.list': table, 'topic.prefix': `${name}-`,
      'bulk.max.threads': '3', 'batch.max.rows': '1000', 'poll.interval.ms': '3600000',
    },
  });
  const firstJob = (name: string, pred: (j: any) => boolean) =>
    waitFor(async () => {
      const r = await w.request('GET', `/connectors/${name}/jobs`);
      return r.status === 200 && r.body[0] && pred(r.body[0]) ? r.body[0] : null;
    }, { timeoutMs: 60000, intervalMs: 100, message: `a job of ${name}` });

  before(async () => {
    await requireStack('kafka', 'postgres');
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    await db.query(`CREATE TABLE ${table} (id int8 PRIMARY KEY, v text, n int4)`);
    await db.query(`INSERT INTO ${table} SELECT g, md5(g::text), g % 1000 FROM generate_series(1, ${ROWS}) g`);
    await db.query(`ANALYZE ${table}`);
    w = await startWorker({});
  });
  after(async () => {
    await w?.stop();
    await db?.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await db?.end();
  });

  it('lists jobs (table, json, yaml), pauses, resumes with --wait and a progress bar to completion', { timeout: 240000 }, async () => {
    const name = `${tag}-a`;
    assert.equal((await w.request('POST', '/connectors', bulk(name))).status, 201);
    const job = await firstJob(name, (j) => j.rows > 0);
    const paused = await ferry(w.url, ['jobs', 'pause', name, job.id]);
    assert.equal(paused.code, EXIT.OK, paused.err);
    assert.match(paused.err, /pause requested/);
    await waitFor(async () => (await w.request('GET', `/connectors/${name}/jobs`)).body[0].state === 'paused', { message: 'paused' });

    const t = await ferry(w.url, ['jobs', name]);
    assert.equal(t.code, EXIT.OK, t.err);
    assert.match(t.out, /^ID\s+WORK\s+STATE\s+CHUNKS\s+ROWS/);
    assert.match(t.out, new RegExp(`${job.id}\\s+bulk\\s+paused\\s+[0-2]/3`));
    const j = await ferry(w.url, ['jobs', name, '-o', 'json']);
    const listed = JSON.parse(j.out);
    assert.equal(listed.length, 1);
    assert.equal(listed[0].id, job.id);
    assert.equal(listed[0].chunks.total, 3);
    const y = parseYaml((await ferry(w.url, ['-o', 'yaml', 'jobs', name, job.id])).out);
    assert.equal(y.id, job.id);
    assert.equal(y.state, 'paused');

    const done = await ferry(w.url, ['jobs', 'resume', name, job.id, '--wait', '-o', 'json']);
    assert.equal(done.code, EXIT.OK, done.err);
    assert.match(done.err, /resume requested/);
    const bars = done.err.split('\n').filter((l) => l.includes('chunks'));
    assert.ok(bars.length >= 2, `progress lines while waiting:\n${done.err}`);
    assert.match(bars.at(-1)!, /completed \[#{24}\] 3\/3 chunks, 300000 rows/);
    const final = JSON.parse(done.out);
    assert.equal(final.state, 'completed');
    assert.equal(final.rows, ROWS);
    // --wait on a finished job answers at once.
    const again = await ferry(w.url, ['jobs', name, '--wait']);
    assert.equal(again.code, EXIT.OK, again.err);
    assert.match(again.out, /completed\s+3\/3\s+300000/);
    // On a terminal the progress is one redrawn line.
    let tty = '';
    const code = await runFerry(['node', 'ferry', '--url', w.url, 'jobs', name, job.id, '--wait'], { out: () => undefined, err: (x) => void (tty += x), isTTY: true, env: {} });
    assert.equal(code, EXIT.OK);
    assert.equal(tty, `\r\x1b[K${job.id} completed [${'#'.repeat(24)}] 3/3 chunks, 300000 rows, ${Math.round(final.rowsPerSecond)} rows/s\n`);
  });

  it('cancels a job: --wait exits WAIT_FAILED; unknown ids and connectors are NOT_FOUND', { timeout: 120000 }, async () => {
    const name = `${tag}-b`;
    assert.equal((await w.request('POST', '/connectors', bulk(name))).status, 201);
    const job = await firstJob(name, (j) => j.state === 'running');
    const c = await ferry(w.url, ['jobs', 'cancel', name, job.id, '-o', 'json']);
    assert.equal(c.code, EXIT.OK, c.err);
    const waited = await ferry(w.url, ['jobs', name, job.id, '--wait']);
    assert.equal(waited.code, EXIT.WAIT_FAILED, waited.err);
    assert.match(waited.err, new RegExp(`Job ${job.id} of ${name} cancelled`));
    assert.equal((await ferry(w.url, ['jobs', 'resume', name, 'no-such-job'])).code, EXIT.NOT_FOUND);
    assert.equal((await ferry(w.url, ['jobs', name, 'no-such-job'])).code, EXIT.NOT_FOUND);
    assert.equal((await ferry(w.url, ['jobs', `${name}-missing`])).code, EXIT.NOT_FOUND);
  });
});

describe('ferry against a worker with authentication on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-cli-auth-'));
  const TOKEN = 'cli-admin-token-5e6f7a8b9c0d1e2f3a4b5c6d';
  let w: WorkerHandle;
  const name = uniqueName('cliauth');

  before(async () => {
    await requireStack('kafka');
    writeFileSync(join(dir, 'users'), 'root: root-pw,admin\nviewer: viewer-pw,read-only\n', { mode: 0o600 });
    writeFileSync(join(dir, 'tokens'), `ci: ${TOKEN},admin\n`, { mode: 0o600 });
    w = await startWorker({ workerConfig: { 'rest.auth.credentials.file': join(dir, 'users'), 'rest.auth.tokens.file': join(dir, 'tokens'), 'rest.auth.unauthenticated.paths': '/health' } });
  });
  after(async () => w?.stop());

  it('--user and --token authenticate; a read-only user reads and is refused writes with AUTH', async () => {
    assert.equal((await ferry(w.url, ['get', 'connectors'])).code, EXIT.AUTH);
    assert.equal((await ferry(w.url, ['--user', 'root:wrong', 'get', 'connectors'])).code, EXIT.AUTH);
    // /ui not listed in rest.auth.unauthenticated.paths: the console's files are closed too.
    assert.equal((await fetch(`${w.url}/ui/`)).status, 401);
    const f = join(dir, `${name}.json`);
    writeFileSync(f, JSON.stringify({ name, config: { 'connector.class': 'DatagenSource', 'kafka.topic': name, 'max.interval': '500' } }));
    const viewerApply = await ferry(w.url, ['--user', 'viewer:viewer-pw', 'apply', '-f', f]);
    assert.equal(viewerApply.code, EXIT.AUTH, viewerApply.err);
    assert.match(viewerApply.err, /403.*admin role/);
    const applied = await ferry(w.url, ['--token', TOKEN, 'apply', '-f', f, '--wait']);
    assert.equal(applied.code, EXIT.OK, applied.err);
    const list = await ferry(w.url, ['--user', 'viewer', '-o', 'json', 'get', 'connectors'], { FERRY_PASSWORD: 'viewer-pw' });
    assert.equal(list.code, EXIT.OK, list.err);
    assert.ok(JSON.stringify(JSON.parse(list.out)).includes(name));
    const pause = await ferry(w.url, ['--user', 'viewer:viewer-pw', 'pause', name]);
    assert.equal(pause.code, EXIT.AUTH);
    assert.match(pause.err, /403 User viewer has role read-only/);
    const jobs = await ferry(w.url, ['--user', 'viewer:viewer-pw', 'jobs', 'cancel', name, 'x']);
    assert.equal(jobs.code, EXIT.AUTH);
    assert.equal((await ferry(w.url, ['--user', 'root:root-pw', 'pause', name, '--wait'])).code, EXIT.OK);
    const env = await ferryProcess(['delete', name], { FERRY_URL: w.url, FERRY_TOKEN: TOKEN });
    assert.equal(env.code, EXIT.OK, env.err);
    assert.equal((await ferry(w.url, ['--token', TOKEN, 'describe', name])).code, EXIT.NOT_FOUND);
  });
});
