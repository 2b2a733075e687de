/**
 * Source tasks share the worker's producer: ten tasks open no more broker
 * connections than one, every record still arrives exactly once and counts
 * in its task's metrics; a connector with producer.override.* gets a producer
 * of its own; deleting or restarting one connector's tasks loses nothing of
 * another's that shares the producer. Real worker, real broker.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generate } from '@ferry/connectors/datagen';
import { BOOTSTRAP, drained, readLines, requireStack, startWorker, topicSize, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const BROKER_PORT = Number(BOOTSTRAP.split(':').pop());

/** Established TCP connections from process `pid` to the broker's port (its socket fds matched against /proc/net/tcp*). */
function brokerConnections(pid: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  let n = 0;
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const remotePort = parseInt(f[2]!.split(':')[1]!, 16);
      if (f[3] === '01' && remotePort === BROKER_PORT && inodes.has(f[9]!)) n++;
    }
  }
  return n;
}

/** Sum of a per-task counter for one connector, by task. */
async function perTask(worker: WorkerHandle, metric: string, connector: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${worker.url}/metrics`)).text();
  const out = new Map<string, number>();
  const re = new RegExp(`^${metric}\\{([^}]*)\\} ([\\d.eE+-]+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const labels = m[1]!;
    if (!labels.includes(`connector="${connector}"`)) continue;
    const task = /task="(\d+)"/.exec(labels)?.[1];
    if (task !== undefined) out.set(task, Number(m[2]));
  }
  return out;
}

describe('source tasks share the worker producer', () => {
  let worker: WorkerHandle;
  before(async () => {
    await requireStack('kafka');
    worker = await startWorker({
      workerConfig: {
        'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
        'value.converter.schemas.enable': 'false',
        'offset.flush.interval.ms': 500,
        'connector.client.config.override.policy': 'All',
      },
    });
  });
  after(async () => worker?.stop());

  /** Connections once the count has held still for a while (clients open and close theirs lazily). */
  async function settledConnections(): Promise<number> {
    let last = -1;
    let since = Date.now();
    return waitFor(
      () => {
        const n = brokerConnections(worker.pid);
        if (n !== last) {
          last = n;
          since = Date.now();
        }
        return Date.now() - since >= 3000 ? n : undefined;
      },
      { timeoutMs: 60000, intervalMs: 250, message: 'broker connections settled' },
    );
  }

  it('ten tasks open no more broker connections than one, and deliver every record exactly once', async (t) => {
    const one = uniqueName('shared-one');
    const r1 = await worker.request('POST', '/connectors', {
      name: one,
      config: { 'connector.class': 'DatagenSource', 'kafka.topic': one, quickstart: 'orders', iterations: 200, 'max.interval': 0, 'tasks.max': 1 },
    });
    assert.equal(r1.status, 201, JSON.stringify(r1.body));
    await waitFor(async () => (await topicSize(one)) >= 200, { timeoutMs: 60000, message: '200 records of one task' });
    const withOne = await settledConnections();

    const ten = uniqueName('shared-ten');
    const tasks = 10;
    const per = 1000;
    const out = join(worker.dir, `${ten}.jsonl`);
    const r2 = await worker.request('POST', '/connectors', {
      name: ten,
      config: { 'connector.class': 'DatagenSource', 'kafka.topic': ten, quickstart: 'orders', iterations: per, 'max.interval': 1, 'tasks.max': tasks },
    });
    assert.equal(r2.status, 201, JSON.stringify(r2.body));
    await worker.waitForRunning(ten, 60000);
    // Counted while all ten tasks write.
    const whileTen = brokerConnections(worker.pid);
    await waitFor(async () => (await topicSize(ten)) >= tasks * per, { timeoutMs: 120000, message: `${tasks * per} records of ten tasks` });
    const withTen = await settledConnections();
    t.diagnostic(`broker connections: ${withOne} with one source task, ${whileTen} while ten more write, ${withTen} after`);
    assert.ok(whileTen <= withOne && withTen <= withOne, `ten tasks share the producer: ${withOne} connections with one task, ${whileTen} while ten write, ${withTen} after`);

    const sink = await worker.request('POST', '/connectors', { name: `${ten}-sink`, config: { 'connector.class': 'FileStreamSink', topics: ten, file: out } });
    assert.equal(sink.status, 201, JSON.stringify(sink.body));
    await waitFor(() => drained(`connect-${ten}-sink`, ten), { timeoutMs: 60000, message: 'the sink committed the whole topic' });
    const lines = readLines(out);
    assert.equal(lines.length, tasks * per, 'no duplicates, nothing missing');
    const expected = new Set<string>();
    for (let task = 0; task < tasks; task++) for (let i = 0; i < per; i++) expected.add(JSON.stringify(generate('orders', task, tasks, i).value));
    assert.deepEqual(new Set(lines), expected);
    const written = await perTask(worker, 'ferry_source_record_write_total', ten);
    assert.equal(written.size, tasks);
    for (const [task, n] of written) assert.equal(n, per, `task ${task} counts its own acknowledged records`);
    for (const name of [one, ten, `${ten}-sink`]) await worker.request('DELETE', `/connectors/${name}`);
  });

  it('a connector with producer.override.* gets a producer of its own', async (t) => {
    const shared = uniqueName('shared-base');
    await worker.request('POST', '/connectors', {
      name: shared,
      config: { 'connector.class': 'DatagenSource', 'kafka.topic': shared, quickstart: 'orders', 'max.interval': 20, 'tasks.max': 2 },
    });
    await waitFor(async () => (await topicSize(shared)) > 50, { timeoutMs: 60000, message: 'the sharing connector writes' });
    const before = await settledConnections();
    const own = uniqueName('own-producer');
    const r = await worker.request('POST', '/connectors', {
      name: own,
      config: { 'connector.class': 'DatagenSource', 'kafka.topic': own, quickstart: 'orders', 'max.interval': 20, 'tasks.max': 1, 'producer.override.request.timeout.ms': '20000' },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await waitFor(async () => (await topicSize(own)) > 50, { timeoutMs: 60000, message: 'the connector with an override writes' });
    const withOwn = await settledConnections();
    t.diagnostic(`broker connections: ${before} with a sharing connector, ${withOwn} with one with an override`);
    assert.ok(withOwn > before, `its own producer opens connections of its own: ${before} before, ${withOwn} after`);
    await worker.request('DELETE', `/connectors/${own}`);
    const after = await settledConnections();
    assert.ok(after < withOwn, `deleting it closes its producer: ${withOwn} -> ${after}`);
    const sizeBefore = await topicSize(shared);
    await waitFor(async () => (await topicSize(shared)) > sizeBefore + 20, { timeoutMs: 30000, message: 'the sharing connector still writes' });
    await worker.request('DELETE', `/connectors/${shared}`);
  });

  it('restarting and deleting a connector that shares the producer loses nothing of another', async () => {
    const noisy = uniqueName('shared-noisy');
    const steady = uniqueName('shared-steady');
    const total = 4000;
    await worker.request('POST', '/connectors', {
      name: noisy,
      config: { 'connector.class': 'DatagenSource', 'kafka.topic': noisy, quickstart: 'orders', 'max.interval': 1, 'tasks.max': 2 },
    });
    await worker.request('POST', '/connectors', {
      name: steady,
      config: { 'connector.class': 'DatagenSource', 'kafka.topic': steady, quickstart: 'orders', iterations: total, 'max.interval': 2, 'tasks.max': 1 },
    });
    await waitFor(async () => (await topicSize(steady)) > 200, { timeoutMs: 60000, message: 'the steady connector writes' });
    assert.equal((await worker.request('POST', `/connectors/${noisy}/tasks/0/restart`)).status, 204);
    await waitFor(async () => (await topicSize(steady)) > 600, { timeoutMs: 60000, message: 'the steady connector writes on after a restart of the other' });
    assert.ok((await topicSize(steady)) < total, 'the steady connector was still writing when the other was deleted');
    assert.equal((await worker.request('DELETE', `/connectors/${noisy}`)).status, 204);
    await waitFor(async () => (await topicSize(steady)) >= total, { timeoutMs: 120000, message: `${total} records of the steady connector` });
    assert.equal(await topicSize(steady), total, 'no record written twice');
    const status = await worker.request('GET', `/connectors/${steady}/status`);
    assert.equal(status.body.tasks[0].state, 'RUNNING', JSON.stringify(status.body));
    const written = await perTask(worker, 'ferry_source_record_write_total', steady);
    assert.equal(written.get('0'), total);
    await worker.request('DELETE', `/connectors/${steady}`);
  });
});
