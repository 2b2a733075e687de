import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { consume, killAllWorkers, requireStack, startWorker, topicSize, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';
import { clusterConfig as sharedClusterConfig } from './harness/cluster.js';

const DELAY_MS = 3000;
const SESSION_MS = 6000;

const clusterConfig = (group: string) =>
  sharedClusterConfig(group, { 'scheduled.rebalance.max.delay.ms': DELAY_MS, 'session.timeout.ms': SESSION_MS, 'rebalance.timeout.ms': 60000, 'exactly.once.source.support': 'enabled' });

const workerIdOf = (w: WorkerHandle) => `127.0.0.1:${w.port}`;
const isLeader = (w: WorkerHandle) => {
  const joins = w.logs().split('\n').filter((l) => l.includes('"Joined group"'));
  return joins.length > 0 && joins[joins.length - 1]!.includes('"leader":true');
};

describe('Exactly-once sources (distributed)', () => {
  before(async () => requireStack('kafka'));
  after(killAllWorkers);

  for (const boundary of ['poll', 'interval'] as const) {
    it(`kill -9 during transactions (${boundary} boundary): a read_committed consumer sees every record exactly once`, async () => {
      const group = uniqueName(`eos-${boundary}`);
      const topic = `${group}-orders`;
      const gen = `${group}-gen`;
      const iterations = 30000;
      const workers = await Promise.all([0, 1].map(() => startWorker({ mode: 'distributed', workerConfig: clusterConfig(group) })));
      await waitFor(() => workers.filter(isLeader).length === 1 && workers.every((w) => w.logs().includes('"Joined group"')), { timeoutMs: 30000, message: 'both workers in the group' });
      const leader = workers.find(isLeader)!;
      const victim = workers.find((w) => w !== leader)!;
      const created = await victim.request('POST', '/connectors', {
        name: gen,
        config: {
          'connector.class': 'DatagenSource',
          'kafka.topic': topic,
          quickstart: 'orders',
          iterations: String(iterations),
          'max.interval': '0',
          'batch.size': '100',
          'tasks.max': '2',
          'exactly.once.support': 'required',
          'transaction.boundary': boundary,
          'transaction.boundary.interval.ms': '300',
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const st = await waitFor(
        async () => {
          const r = await leader.request('GET', `/connectors/${gen}/status`);
          const s = r.body as { tasks: Array<{ state: string; worker_id: string }> };
          return r.status === 200 && s.tasks.length === 2 && s.tasks.every((t) => t.state === 'RUNNING') && new Set(s.tasks.map((t) => t.worker_id)).size === 2 ? s : null;
        },
        { timeoutMs: 60000, message: 'one task on each worker' },
      );
      assert.ok(st.tasks.some((t) => t.worker_id === workerIdOf(victim)));
      // Mid-stream: records flowing, far from the end.
      await waitFor(async () => (await topicSize(topic)) > 5000, { timeoutMs: 60000, message: 'records flowing' });
      await victim.kill();
      const written = await topicSize(topic);
      assert.ok(written < iterations * 2, `killed mid-stream (${written} written of ${iterations * 2})`);

      await waitFor(
        async () => {
          const r = await leader.request('GET', `/connectors/${gen}/status`);
          const s = r.body as { tasks: Array<{ state: string; worker_id: string }> };
          return s.tasks.length === 2 && s.tasks.every((t) => t.state === 'RUNNING' && t.worker_id === workerIdOf(leader));
        },
        { timeoutMs: DELAY_MS + SESSION_MS + 20000, message: 'the killed task running on the survivor' },
      );
      // kafkajs consumers read with isolation read_committed unless told otherwise.
      const messages = await consume(topic, { count: iterations * 2, timeoutMs: 180000, settleMs: 2000 });
      const ids = messages.map((m) => (JSON.parse(m.value!.toString()) as { orderid: number }).orderid);
      const unique = new Set(ids);
      assert.equal(unique.size, iterations * 2, 'every record');
      assert.equal(ids.length, iterations * 2, `no duplicate among committed records (${ids.length - unique.size} duplicates)`);
    });
  }
});
