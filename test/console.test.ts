import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import pg from 'pg';
import { requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const PLUGINS = join(ROOT, 'test/fixtures/test-plugins.ts');
const SHOTS = join(ROOT, 'test/screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('web console in headless Chromium', () => {
  let w: WorkerHandle;
  let browser: Browser;
  let page: Page;
  const name = uniqueName('ui');
  const flaky = `${name}-flaky`;
  const shot = (file: string) => page.screenshot({ path: join(SHOTS, file), fullPage: true });

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM} (Debian: apt-get install -y chromium; npm test installs it)`);
    assert.ok(existsSync(join(ROOT, 'packages/worker/dist/ui/index.html')), 'the console is built by `npm run build`');
    mkdirSync(SHOTS, { recursive: true });
    await requireStack('kafka');
    w = await startWorker({ workerConfig: { 'plugin.path': PLUGINS } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => console.error('page error:', err.message));
  });
  after(async () => {
    await browser?.close();
    await w?.stop();
  });

  it('serves the console at /ui and lists no connectors', async () => {
    await page.goto(`${w.url}/ui`);
    assert.equal(new URL(page.url()).pathname, '/ui/');
    await page.getByText('No connectors yet.').waitFor();
    await shot('01-empty-list.png');
  });

  it('creates a pipeline through the form: a validation error on the field, then fixed', async () => {
    await page.getByTestId('new-connector').click();
    await page.locator('#f-class').selectOption('DatagenSource');
    await page.locator('[data-field="kafka.topic"] input').waitFor();
    await page.locator('#f-name').fill(name);
    await page.locator('[data-field="kafka.topic"] input').fill(name);
    await page.locator('[data-field="quickstart"] select').selectOption('orders');
    await page.locator('[data-field="max.interval"] input').fill('50');
    // tasks.max of 0 is refused by config/validate: the message shows on that field.
    const tasksMax = page.locator('[data-field="tasks.max"]');
    await tasksMax.locator('input').fill('0');
    await tasksMax.locator('[data-testid="field-error"]').waitFor({ timeout: 10000 });
    assert.match(await tasksMax.locator('[data-testid="field-error"]').innerText(), /tasks\.max|at least 1|>= ?1|1/i);
    assert.match((await tasksMax.getAttribute('class')) ?? '', /invalid/);
    await shot('02-form-validation-error.png');
    await tasksMax.locator('input').fill('1');
    await waitFor(async () => (await tasksMax.locator('[data-testid="field-error"]').count()) === 0, { message: 'the error to clear' });
    await waitFor(async () => /^0 validation/.test(await page.getByTestId('error-count').innerText()), { message: 'no validation errors left' });
    await shot('03-form-valid.png');
    await page.getByTestId('submit').click();
    await page.waitForURL(new RegExp(`#/connectors/${name}$`));
  });

  it('shows it RUNNING with a moving record count', async () => {
    await waitFor(async () => (await page.getByTestId('state').first().innerText()) === 'RUNNING', { timeoutMs: 60000, message: 'RUNNING in the console' });
    const count = async () => Number(await page.getByTestId('records-total').innerText());
    const first = await waitFor(async () => ((await count()) > 0 ? await count() : 0), { timeoutMs: 60000, message: 'records counted' });
    await waitFor(async () => (await count()) > first, { timeoutMs: 60000, message: `the record count to move past ${first}` });
    await waitFor(async () => Number(await page.getByTestId('records-rate').innerText()) > 0, { timeoutMs: 30000, message: 'a records/s above 0' });
    await shot('04-connector-running.png');
    await page.goto(`${w.url}/ui/#/`);
    const row = page.locator(`tr[data-connector="${name}"]`);
    await row.waitFor();
    await waitFor(async () => (await row.getByTestId('state').innerText()) === 'RUNNING', { message: 'RUNNING in the list' });
    await waitFor(async () => Number(await row.getByTestId('records').innerText()) > 0, { message: 'records in the list' });
    await page.getByTestId('chart-rate').locator('canvas').waitFor();
    await shot('05-list-running.png');
  });

  it('shows the consumer lag of a sink', async () => {
    const sink = `${name}-sink`;
    const r = await w.request('POST', '/connectors', {
      name: sink,
      config: { 'connector.class': 'FileStreamSink', topics: name, file: join(mkdtempSync(join(tmpdir(), 'ferry-ui-')), 'out.jsonl') },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await page.goto(`${w.url}/ui/#/`);
    const row = page.locator(`tr[data-connector="${sink}"]`);
    await waitFor(async () => /^\d+$/.test(await row.getByTestId('lag').innerText()), { timeoutMs: 60000, message: 'a lag figure for the sink' });
    await page.getByTestId('chart-lag').locator('canvas').waitFor();
    await waitFor(async () => Number(await row.getByTestId('records').innerText()) > 0, { timeoutMs: 60000, message: 'records through the sink' });
    await shot('05b-list-with-sink-lag.png');
  });

  it('highlights a failed task with its trace and restarts it', async () => {
    const r = await w.request('POST', '/connectors', {
      name: flaky,
      config: {
        'connector.class': 'FlakySource',
        topic: flaky,
        'marker.file': join(mkdtempSync(join(tmpdir(), 'ferry-ui-')), 'marker'),
        'errors.task.restart.enable': 'false',
        'api.password': 'ui-s3cret',
      },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await page.goto(`${w.url}/ui/#/`);
    const row = page.locator(`tr[data-connector="${flaky}"]`);
    await row.getByTestId('failed-count').waitFor({ timeout: 60000 });
    assert.match((await row.getAttribute('class')) ?? '', /failed-row/);
    await shot('06-list-failed-task.png');
    await row.locator('a').click();
    const task = page.locator('tr[data-task="0"]');
    await waitFor(async () => /failed-row/.test((await task.getAttribute('class')) ?? ''), { message: 'the failed task highlighted' });
    const trace = await page.getByTestId('trace-0').innerText();
    assert.match(trace, /transient failure/);
    assert.doesNotMatch(trace, /ui-s3cret/, 'secrets are scrubbed from traces');
    await shot('07-connector-failed-task.png');
    await page.getByTestId('restart-task-0').click();
    await waitFor(async () => (await task.getByTestId('state').innerText()) === 'RUNNING', { timeoutMs: 60000, message: 'the task RUNNING again' });
    assert.equal(await page.getByTestId('trace-0').count(), 0);
    await shot('08-connector-task-restarted.png');
  });

  it('edits with the password masked', async () => {
    await page.getByTestId('edit').click();
    const pw = page.locator('[data-field="api.password"] input');
    await pw.waitFor();
    assert.equal(await pw.getAttribute('type'), 'password');
    assert.equal(await pw.inputValue(), '');
    assert.doesNotMatch(await page.content(), /ui-s3cret/);
    await shot('09-edit-form-password-masked.png');
  });

  it('resets the offsets of a stopped connector', async () => {
    await page.goto(`${w.url}/ui/#/connectors/${name}`);
    await waitFor(async () => (await w.request('GET', `/connectors/${name}/offsets`)).body.offsets.length > 0, { timeoutMs: 30000, message: 'offsets flushed' });
    await page.getByTestId('stop').click();
    await waitFor(async () => (await page.getByTestId('state').first().innerText()) === 'STOPPED', { message: 'STOPPED in the console' });
    const offsets = page.getByTestId('offsets');
    await waitFor(async () => (await offsets.locator('tbody tr code').count()) > 0, { message: 'offsets listed' });
    await shot('10-stopped-with-offsets.png');
    page.once('dialog', (d) => void d.accept());
    await page.getByTestId('reset-offsets').click();
    await page.getByTestId('no-offsets').waitFor({ timeout: 30000 });
    assert.match(await page.getByTestId('notice').innerText(), /Reset offsets/);
    assert.deepEqual((await w.request('GET', `/connectors/${name}/offsets`)).body.offsets, []);
    await shot('11-offsets-reset.png');
  });

  it('sets an offset through the editor', async () => {
    await page.getByTestId('edit-offsets').click();
    await page.getByTestId('offsets-json').fill(JSON.stringify({ offsets: [{ partition: { task: 0 }, offset: { position: 42 } }] }));
    await page.getByTestId('save-offsets').click();
    await waitFor(async () => /42/.test(await page.getByTestId('offsets').innerText()), { message: 'the new offset listed' });
    const stored = (await w.request('GET', `/connectors/${name}/offsets`)).body.offsets;
    assert.deepEqual(stored, [{ partition: { task: 0 }, offset: { position: 42 } }]);
  });

  it('asks for credentials when the API answers 401 and sends them', async () => {
    // A loopback gateway in front of the worker that wants a bearer token for the API (not for the console's files).
    const seen: string[] = [];
    const gateway: Server = createServer((req, res) => {
      const api = !req.url!.startsWith('/ui');
      if (api) seen.push(req.headers.authorization ?? '');
      if (api && req.headers.authorization !== 'Bearer t0ken') {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error_code: 401, message: 'Unauthorized' }));
        return;
      }
      const up = httpRequest(`${w.url}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode!, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(gateway.address() as { port: number }).port}`;
    try {
      const p = await browser.newPage();
      await p.goto(`${url}/ui/`);
      await p.getByText('Sign in to the worker').waitFor();
      await p.screenshot({ path: join(SHOTS, '12-sign-in.png') });
      await p.locator('input[name="token"]').fill('t0ken');
      await p.getByTestId('sign-in').click();
      await p.locator(`tr[data-connector="${name}"]`).waitFor({ timeout: 30000 });
      assert.ok(seen.includes('Bearer t0ken'));
      await p.close();
    } finally {
      gateway.close();
      gateway.closeAllConnections();
    }
  });
});

describe('job progress in the console', () => {
  const PG_URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const ROWS = 400_000;
  let w: WorkerHandle;
  let browser: Browser;
  let page: Page;
  let db: pg.Client;
  const tag = uniqueName('uijob');
  const table = tag.replace(/-/g, '_');
  const name = `${tag}-bulk`;
  const shot = (file: string) => page.screenshot({ path: join(SHOTS, file), fullPage: true });

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM}`);
    mkdirSync(SHOTS, { recursive: true });
    await requireStack('kafka', 'postgres');
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    await db.query(`CREATE TABLE ${table} (id int8 PRIMARY KEY, v text, n int4)`);
    await db.query(`INSERT INTO ${table} SELECT g, md5(g::text), g % 1000 FROM generate_series(1, ${ROWS}) g`);
    await db.query(`ANALYZE ${table}`);
    w = await startWorker({});
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => console.error('page error:', err.message));
  });
  after(async () => {
    await browser?.close();
    if (w) await w.request('DELETE', `/connectors/${name}`).catch(() => undefined);
    await w?.stop();
    await db?.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await db?.end();
  });

  it('shows a bulk round in 3 chunks moving to completion, paused and resumed from the page; the list marks the running job', { timeout: 300000 }, async () => {
    const r = await w.request('POST', '/connectors', {
      name,
      config: {
        'connector.class': 'PostgresSource', 'connection.url': PG_URL, mode: 'bulk', 'table.include.list': table, 'topic.prefix': `${tag}-`,
        'bulk.max.threads': '3', 'batch.max.rows': '1000', 'poll.interval.ms': '3600000',
      },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await page.goto(`${w.url}/ui/#/`);
    const row = page.locator(`tr[data-connector="${name}"]`);
    await row.getByTestId('job-indicator').waitFor({ timeout: 60000 });
    await shot('13-list-job-running.png');

    await row.locator('a').first().click();
    const job = page.getByTestId('jobs').locator('tr[data-job]').first();
    await job.waitFor({ timeout: 30000 });
    const rows = async () => Number(await job.getByTestId('job-rows').innerText());
    // Rows counted while the job runs, and a rows/s figure.
    await waitFor(async () => (await rows()) > 0 && (await job.getByTestId('job-state').innerText()) === 'running', { timeoutMs: 60000, message: 'rows counted while running' });
    assert.equal(await job.getByTestId('job-progress').getAttribute('aria-valuemax'), '3');
    await job.getByTestId('job-pause').click();
    await waitFor(async () => (await job.getByTestId('job-state').innerText()) === 'paused', { timeoutMs: 30000, message: 'the job paused' });
    assert.match(await page.getByTestId('notice').innerText(), /pause requested/);
    // Paused: the row count settles below the total.
    const settled = await waitFor(async () => {
      const a = await rows();
      await page.waitForTimeout(1500);
      return (await rows()) === a ? a : null;
    }, { timeoutMs: 30000, message: 'the row count to settle while paused' });
    assert.ok(settled < ROWS, `paused before the end (${settled} rows)`);
    const doneWhilePaused = Number(await job.getByTestId('job-progress').getAttribute('aria-valuenow'));
    assert.ok(doneWhilePaused < 3);
    await shot('14-connector-job-paused.png');
    await job.getByTestId('job-resume').click();
    await waitFor(async () => (await rows()) > settled, { timeoutMs: 60000, message: 'rows moving again after resume' });
    // Between chunk ends, the estimate from rows and ETA fills the bar.
    await waitFor(async () => /~\d+%/.test(await job.getByTestId('job-progress').innerText()), { timeoutMs: 30000, message: 'an estimated percentage' });
    await shot('15-connector-job-progress.png');
    // The bar goes to 3/3 and the job completes with every row.
    const seen = new Set<string>();
    await waitFor(async () => {
      seen.add((await job.getByTestId('job-progress').getAttribute('aria-valuenow')) ?? '');
      return (await job.getByTestId('job-state').innerText()) === 'completed';
    }, { timeoutMs: 240000, intervalMs: 200, message: 'the job to complete in the console' });
    assert.equal(await job.getByTestId('job-progress').getAttribute('aria-valuenow'), '3');
    assert.equal(await rows(), ROWS);
    assert.match(await job.getByTestId('job-progress').innerText(), /3\/3 chunks/);
    assert.equal(await job.getByTestId('job-pause').count(), 0, 'no buttons on a finished job');
    console.log(`chunks done seen on the bar: ${[...seen].sort().join(', ')}`);
    await shot('16-connector-job-completed.png');
    await page.goto(`${w.url}/ui/#/`);
    await row.waitFor();
    await waitFor(async () => (await row.getByTestId('job-indicator').count()) === 0, { message: 'no indicator once the job completed' });
  });
});

describe('console against a worker with authentication on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-ui-auth-'));
  const TOKEN = 'ui-admin-token-0a1b2c3d4e5f60718293';
  const name = uniqueName('uiauth');
  let w: WorkerHandle;
  let browser: Browser;
  let page: Page;
  const shot = (file: string) => page.screenshot({ path: join(SHOTS, file), fullPage: true });
  const admin = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${w.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM}`);
    mkdirSync(SHOTS, { recursive: true });
    await requireStack('kafka');
    writeFileSync(join(dir, 'users'), 'root: root-pw,admin\nviewer: viewer-pw,read-only\n', { mode: 0o600 });
    writeFileSync(join(dir, 'tokens'), `ops: ${TOKEN},admin\n`, { mode: 0o600 });
    w = await startWorker({
      workerConfig: {
        'plugin.path': PLUGINS,
        'rest.auth.credentials.file': join(dir, 'users'),
        'rest.auth.tokens.file': join(dir, 'tokens'),
        'rest.auth.unauthenticated.paths': '/health,/ui',
      },
    });
    const r = await admin('POST', '/connectors', { name, config: { 'connector.class': 'DatagenSource', 'kafka.topic': name, 'max.interval': '200' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => console.error('page error:', err.message));
  });
  after(async () => {
    await browser?.close();
    await w?.stop();
  });

  it('serves the console shell only; its API calls need credentials, answered without a browser challenge', async () => {
    const shell = await fetch(`${w.url}/ui/`);
    assert.equal(shell.status, 200);
    const api = await fetch(`${w.url}/connectors`, { headers: { 'x-requested-with': 'ferry-console' } });
    assert.equal(api.status, 401);
    assert.equal(api.headers.get('www-authenticate'), null);
    assert.match((await fetch(`${w.url}/connectors`)).headers.get('www-authenticate') ?? '', /Basic realm/);
    assert.equal((await fetch(`${w.url}/ui/`, { method: 'POST' })).status, 401, 'only GET is public');
  });

  it('signs in: wrong password refused, a read-only user sees the pages and gets a clear 403 on write buttons', async () => {
    await page.goto(`${w.url}/ui/`);
    await page.getByText('Sign in to the worker').waitFor({ timeout: 30000 });
    await shot('17-auth-sign-in.png');
    await page.locator('input[name="user"]').fill('viewer');
    await page.locator('input[name="password"]').fill('wrong');
    await page.getByTestId('sign-in').click();
    await page.getByTestId('sign-in-refused').waitFor({ timeout: 30000 });
    await page.locator('input[name="user"]').fill('viewer');
    await page.locator('input[name="password"]').fill('viewer-pw');
    await page.getByTestId('sign-in').click();
    const row = page.locator(`tr[data-connector="${name}"]`);
    await row.waitFor({ timeout: 30000 });
    assert.equal(await page.getByText('Sign in to the worker').count(), 0);
    await waitFor(async () => (await row.getByTestId('state').innerText()) === 'RUNNING', { timeoutMs: 60000, message: 'RUNNING for the read-only user' });
    await row.locator('a').first().click();
    await waitFor(async () => (await page.getByTestId('state').first().innerText()) === 'RUNNING', { message: 'the connector page' });
    await page.getByTestId('pause').click();
    const notice = page.getByTestId('notice');
    await notice.waitFor();
    assert.match(await notice.innerText(), /^Pause: Not allowed \(403\): User viewer has role read-only; PUT requests need the admin role/);
    assert.match((await notice.getAttribute('class')) ?? '', /error/);
    assert.equal((await admin('GET', `/connectors/${name}/status`)).body.connector.state, 'RUNNING', 'nothing changed');
    await shot('18-auth-read-only-403.png');
    // The form: creating is refused as clearly.
    await page.goto(`${w.url}/ui/#/connectors/${name}/edit`);
    await page.getByTestId('submit').waitFor();
    await page.getByTestId('submit').click();
    // The save's own answer: validation requests (PUT too) are refused on their own line and never replace it.
    const saveError = page.getByTestId('form-error');
    await saveError.waitFor({ timeout: 30000 });
    assert.match(await saveError.innerText(), /^Not allowed \(403\): User viewer has role read-only; PUT requests need the admin role/);
    await page.getByTestId('validation-error').waitFor({ timeout: 30000 });
    assert.match(await saveError.innerText(), /^Not allowed \(403\)/, 'a later validation answer leaves the save error in place');
    assert.equal((await admin('GET', `/connectors/${name}/config`)).body['max.interval'], '200', 'nothing changed');
  });

  it('an admin signed in with a bearer token may act', async () => {
    await page.goto(`${w.url}/ui/#/connectors/${name}`);
    await page.getByTestId('credentials').click();
    await page.locator('input[name="token"]').fill(TOKEN);
    await page.getByTestId('sign-in').click();
    await waitFor(async () => (await page.getByTestId('state').first().innerText()) === 'RUNNING', { message: 'the connector page' });
    await page.getByTestId('pause').click();
    await waitFor(async () => (await page.getByTestId('state').first().innerText()) === 'PAUSED', { timeoutMs: 30000, message: 'PAUSED by the admin' });
    assert.match(await page.getByTestId('notice').innerText(), /^Pause: /);
    assert.doesNotMatch(await page.getByTestId('notice').innerText(), /403/);
    await shot('19-auth-admin-paused.png');
  });
});
