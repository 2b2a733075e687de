import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { killAllWorkers, requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';
import { clusterConfig as sharedClusterConfig } from './harness/cluster.js';

const clusterConfig = (group: string) =>
  sharedClusterConfig(group, { 'scheduled.rebalance.max.delay.ms': 0, 'rebalance.timeout.ms': 60000, 'offset.flush.interval.ms': 60000, 'tasks.max.per.worker': 2 });

type Task = { id: number; state: string; worker_id: string; message?: string };

async function tasksOf(w: WorkerHandle, names: string[]): Promise<Task[]> {
  const out: Task[] = [];
  for (const n of names) {
    const r = await w.request('GET', `/connectors/${n}/status`);
    if (r.status !== 200) return [];
    out.push(...(r.body as { tasks: Task[] }).tasks);
  }
  return out;
}

describe('Distributed mode: tasks.max.per.worker', () => {
  before(async () => requireStack('kafka'));
  after(killAllWorkers);

  it('the leader gives no worker more tasks than its limit; the rest wait UNASSIGNED until a worker joins', async () => {
    const group = uniqueName('dist-limit');
    const names = [`${group}-a`, `${group}-b`];
    const first = await startWorker({ mode: 'distributed', workerConfig: clusterConfig(group) });
    await waitFor(() => first.logs().includes('"Joined group"'), { timeoutMs: 30000, message: 'worker in the group' });
    for (const name of names) {
      await waitFor(
        async () => (await first.request('POST', '/connectors', { name, config: { 'connector.class': 'DatagenSource', 'kafka.topic': `${group}-orders`, quickstart: 'orders', 'max.interval': '1000', 'tasks.max': '2' } })).status === 201,
        { timeoutMs: 30000, message: `${name} created` },
      );
    }
    // Four tasks, a limit of two: two run, two wait with the reason.
    const capped = await waitFor(
      async () => {
        const t = await tasksOf(first, names);
        return t.length === 4 && t.filter((x) => x.state === 'RUNNING').length === 2 && t.filter((x) => x.state === 'UNASSIGNED').length === 2 ? t : null;
      },
      { timeoutMs: 60000, message: 'two tasks running, two unassigned' },
    );
    for (const t of capped.filter((x) => x.state === 'UNASSIGNED')) assert.match(t.message ?? '', /tasks\.max\.per\.worker=2/);
    const second = await startWorker({ mode: 'distributed', workerConfig: clusterConfig(group) });
    const all = await waitFor(
      async () => {
        const t = await tasksOf(first, names);
        return t.length === 4 && t.every((x) => x.state === 'RUNNING') ? t : null;
      },
      { timeoutMs: 60000, message: 'every task running once a second worker joined' },
    );
    const perWorker = new Map<string, number>();
    for (const t of all) perWorker.set(t.worker_id, (perWorker.get(t.worker_id) ?? 0) + 1);
    assert.deepEqual([...perWorker.values()], [2, 2], `two tasks per worker: ${JSON.stringify([...perWorker])}`);
    assert.ok(perWorker.has(`127.0.0.1:${second.port}`));
  });
});
