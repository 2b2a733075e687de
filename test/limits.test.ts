/**
 * Resource bounds a caller cannot exceed, and a worker that keeps serving
 * whatever its stored configs or the servers they name do.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { describeExit } from '../scripts/exit-status.mjs';
import { requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

/** A TCP listener that accepts connections and never answers (a black hole). */
async function silentListener(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('resource bounds', () => {
  let w: WorkerHandle;
  before(async () => {
    await requireStack('kafka');
    w = await startWorker({ workerConfig: { 'tasks.max.per.worker': 4, 'connector.validation.timeout.ms': 3000 } });
  });
  after(async () => w?.stop());

  it('tasks.max above tasks.max.per.worker is a 400 naming the limit, on create and on update', async () => {
    const name = uniqueName('many');
    const config = { 'connector.class': 'DatagenSource', 'kafka.topic': name, quickstart: 'users', 'tasks.max': '100000' };
    const r = await w.request('POST', '/connectors', { name, config });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.message, /tasks\.max\.per\.worker=4/);
    const put = await w.request('PUT', `/connectors/${name}/config`, config);
    assert.equal(put.status, 400);
    assert.equal((await w.request('GET', `/connectors/${name}`)).status, 404, 'nothing stored');
    const v = await w.request('PUT', '/connector-plugins/DatagenSource/config/validate', config);
    assert.equal(v.status, 200);
    const tm = v.body.configs.find((c: { value: { name: string } }) => c.value.name === 'tasks.max');
    assert.match(tm.value.errors[0], /tasks\.max\.per\.worker=4/);
  });

  it('connectors that together pass the limit: the one over it shows FAILED with the reason', async () => {
    const a = uniqueName('lim-a');
    const b = uniqueName('lim-b');
    const cfg = (topic: string) => ({ 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'users', 'max.interval': '200', 'tasks.max': '3' });
    assert.equal((await w.request('POST', '/connectors', { name: a, config: cfg(a) })).status, 201);
    await w.waitForRunning(a);
    assert.equal((await w.request('POST', '/connectors', { name: b, config: cfg(b) })).status, 201);
    const st = await waitFor(async () => {
      const s = await w.request('GET', `/connectors/${b}/status`);
      return s.body.connector?.state === 'FAILED' ? s.body : null;
    }, { message: `${b} FAILED` });
    assert.match(st.connector.trace, /tasks\.max\.per\.worker=4/);
    assert.equal(st.tasks.length, 0);
    assert.equal((await w.request('DELETE', `/connectors/${a}`)).status, 204);
    assert.equal((await w.request('DELETE', `/connectors/${b}`)).status, 204);
  });

  it('connector names are checked on every write path', async () => {
    const cfg = { 'connector.class': 'DatagenSource', 'kafka.topic': 'x', quickstart: 'users' };
    const put = await w.request('PUT', '/connectors/a%2Fb/config', cfg);
    assert.equal(put.status, 400, JSON.stringify(put.body));
    assert.match(put.body.message, /invalid/);
    assert.equal((await w.request('PUT', '/connectors/a%5Cb/config', cfg)).status, 400);
    assert.equal((await w.request('PUT', '/connectors/a%0Ab/config', cfg)).status, 400);
    assert.equal((await w.request('PUT', `/connectors/${'n'.repeat(300)}/config`, cfg)).status, 400);
    assert.equal((await w.request('PATCH', '/connectors/a%2Fb/config', { 'tasks.max': '1' })).status, 404);
    assert.deepEqual((await w.request('GET', '/connectors')).body.filter((n: string) => n.includes('/')), []);
  });

  it('PUT /admin/loggers is bounded: a capped number of new loggers, names checked', async () => {
    const before = Object.keys((await w.request('GET', '/admin/loggers')).body).length;
    let refused = 0;
    for (let i = 0; i < 150; i++) {
      const r = await w.request('PUT', `/admin/loggers/made.up.logger${i}`, { level: 'DEBUG' });
      if (r.status === 400) {
        refused++;
        assert.match(r.body.message, /Too many loggers/);
      } else assert.equal(r.status, 200);
    }
    assert.ok(refused >= 50, `${refused} refused`);
    const after = Object.keys((await w.request('GET', '/admin/loggers')).body).length;
    assert.ok(after - before <= 100, `${after - before} loggers created`);
    // the worker's own loggers (and names above them) stay settable
    assert.equal((await w.request('PUT', '/admin/loggers/herder', { level: 'INFO' })).status, 200);
    assert.equal((await w.request('PUT', '/admin/loggers/root', { level: 'INFO' })).status, 200);
    assert.equal((await w.request('PUT', `/admin/loggers/${encodeURIComponent('bad name\u0000')}`, { level: 'INFO' })).status, 400);
  });

  it('validation against a server that never answers has a deadline and blocks no other create', async () => {
    const hole = await silentListener();
    try {
      const stuck = uniqueName('stuck');
      const started = Date.now();
      const slow = w.request('POST', '/connectors', {
        name: stuck,
        config: { 'connector.class': 'PostgresSink', topics: stuck, 'connection.url': `postgres://postgres@127.0.0.1:${hole.port}/test` },
      });
      // meanwhile other creates and updates go through at once
      const other = uniqueName('free');
      const cfg = { 'connector.class': 'DatagenSource', 'kafka.topic': other, quickstart: 'users', 'max.interval': '200' };
      const created = await w.request('POST', '/connectors', { name: other, config: cfg });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const updated = await w.request('PUT', `/connectors/${other}/config`, { ...cfg, 'max.interval': '300' });
      assert.equal(updated.status, 200);
      const r = await slow;
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.message, /connection\.url|did not finish|Cannot connect|timeout/i);
      assert.ok(Date.now() - started < 20000, `answered after ${Date.now() - started} ms`);
      assert.equal((await w.request('DELETE', `/connectors/${other}`)).status, 204);
    } finally {
      await hole.close();
    }
  });
});

describe('a stored config that cannot run', () => {
  it('a stored connector with tasks.max far above the limit: the worker serves its API, the connector shows FAILED', async () => {
    await requireStack('kafka');
    const dir = mkdtempSync(join(tmpdir(), 'ferry-worker-'));
    mkdirSync(join(dir, 'data'), { recursive: true });
    const name = uniqueName('stored-many');
    // written as an earlier worker (without the check at create) would have stored it
    const stored = [{ name, config: { name, 'connector.class': 'DatagenSource', 'kafka.topic': name, quickstart: 'users', 'tasks.max': '100000' }, target: 'STARTED', tasks: [] }];
    writeFileSync(join(dir, 'data/connect.configs'), JSON.stringify(stored));
    const w = await startWorker({ dir });
    try {
      const health = await waitFor(async () => ((await w.request('GET', '/health')).status === 200 ? true : null), { timeoutMs: 30000, message: 'healthy' });
      assert.ok(health);
      const st = await waitFor(async () => {
        const s = await w.request('GET', `/connectors/${name}/status`);
        return s.body.connector?.state === 'FAILED' ? s.body : null;
      }, { message: 'FAILED' });
      assert.match(st.connector.trace, /tasks\.max\.per\.worker=64/);
      assert.equal(st.tasks.length, 0);
    } finally {
      await w.stop();
    }
  });
});

describe('a connector whose start never finishes', () => {
  it('shows FAILED after connector.validation.timeout.ms; other connectors and the API are not held up', async () => {
    await requireStack('kafka');
    const dir = mkdtempSync(join(tmpdir(), 'ferry-worker-'));
    mkdirSync(join(dir, 'data'), { recursive: true });
    const hung = uniqueName('hung');
    writeFileSync(join(dir, 'data/connect.configs'), JSON.stringify([{ name: hung, config: { name: hung, 'connector.class': 'HangingStartSource' }, target: 'STARTED', tasks: [] }]));
    const PLUGINS = fileURLToPath(new URL('./fixtures/test-plugins.ts', import.meta.url));
    const w = await startWorker({ dir, workerConfig: { 'plugin.path': PLUGINS, 'connector.validation.timeout.ms': 1500 } });
    try {
      await waitFor(async () => ((await w.request('GET', '/health')).status === 200 ? true : null), { timeoutMs: 30000, message: 'healthy' });
      const st = await waitFor(async () => {
        const s = await w.request('GET', `/connectors/${hung}/status`);
        return s.body.connector?.state === 'FAILED' ? s.body : null;
      }, { message: 'FAILED' });
      assert.match(st.connector.trace, /did not start within 1500 ms/);
      // a create through the API while another start hangs: answered, and the connector runs
      const again = uniqueName('hung2');
      const started = Date.now();
      assert.equal((await w.request('POST', '/connectors', { name: again, config: { 'connector.class': 'HangingStartSource' } })).status, 201);
      const ok = uniqueName('fine');
      assert.equal((await w.request('POST', '/connectors', { name: ok, config: { 'connector.class': 'DatagenSource', 'kafka.topic': ok, quickstart: 'users', 'max.interval': '200' } })).status, 201);
      await w.waitForRunning(ok);
      assert.ok(Date.now() - started < 15000, `${Date.now() - started} ms`);
    } finally {
      await w.stop();
    }
  });
});

describe('scripts: how the worker ended', () => {
  it('a signal is a crash with the signal named, unless we asked for the stop', () => {
    assert.deepEqual(describeExit('worker', null, 'SIGKILL', false), { message: 'worker crashed: killed by signal SIGKILL', exitCode: 137, crashed: true });
    assert.equal(describeExit('worker', null, 'SIGTERM', false).crashed, true);
    assert.equal(describeExit('worker', null, 'SIGTERM', true).crashed, false);
    assert.deepEqual(describeExit('worker', 1, null, false), { message: 'worker crashed: exit code 1', exitCode: 1, crashed: true });
    assert.equal(describeExit('worker', 0, null, false).message, 'worker exited (0)');
  });
});
