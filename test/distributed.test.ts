import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { consume, killAllWorkers, topicSize, readLines, requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';
import { clusterConfig as sharedClusterConfig } from './harness/cluster.js';

const DELAY_MS = 4000;
const SESSION_MS = 6000;

const clusterConfig = (group: string) => sharedClusterConfig(group, { 'scheduled.rebalance.max.delay.ms': DELAY_MS, 'session.timeout.ms': SESSION_MS });

/** Whether this worker led the group in its latest completed rebalance (from its log). */
function isLeader(w: WorkerHandle): boolean {
  const joins = w.logs().split('\n').filter((l) => l.includes('"Joined group"'));
  return joins.length > 0 && joins[joins.length - 1]!.includes('"leader":true');
}

const workerIdOf = (w: WorkerHandle) => `127.0.0.1:${w.port}`;

interface Status {
  connector: { state: string; worker_id: string };
  tasks: Array<{ id: number; state: string; worker_id: string }>;
}

async function status(w: WorkerHandle, name: string): Promise<Status | null> {
  const r = await w.request('GET', `/connectors/${name}/status`);
  return r.status === 200 ? (r.body as Status) : null;
}

/** ferry_task_starts_total of one worker, per task `name-n`. */
async function taskStarts(w: WorkerHandle): Promise<Map<string, number>> {
  const text = (await w.request('GET', '/metrics')).body as string;
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^ferry_task_starts_total\{connector="([^"]+)",task="(\d+)"\} (\d+)/gm)) out.set(`${m[1]}-${m[2]}`, Number(m[3]));
  return out;
}

function orderIds(lines: string[]): number[] {
  return lines.map((l) => {
    const v = JSON.parse(l) as { orderid?: number; payload?: { orderid: number } };
    return v.orderid ?? v.payload!.orderid;
  });
}

describe('Distributed mode', () => {
  before(async () => requireStack('kafka'));
  after(killAllWorkers);

  it('three workers share the work; kill -9 fails over after the delay; a fourth worker takes work without stopping the others', async () => {
    const group = uniqueName('dist');
    // Connector names unique to the run: a sink's consumer group is connect-<name> on a shared broker.
    const gen = `${group}-gen`;
    const sink = `${group}-sink`;
    const topic = `${group}-orders`;
    const out = join(mkdtempSync(join(tmpdir(), 'ferry-dist-')), 'orders.jsonl');
    const iterations = 2500;
    const workers = await Promise.all([0, 1, 2].map(() => startWorker({ mode: 'distributed', workerConfig: clusterConfig(group) })));
    await waitFor(() => workers.filter(isLeader).length === 1 && workers.every((w) => w.logs().includes('"Joined group"')), { timeoutMs: 30000, message: 'every worker in the group, one leader' });
    const follower = workers.find((w) => !isLeader(w))!;
    const leader = workers.find(isLeader)!;

    // Writes sent to a follower are forwarded to the leader and applied.
    const src = await follower.request('POST', '/connectors', {
      name: gen,
      config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', iterations: String(iterations), 'max.interval': '4', 'tasks.max': '3' },
    });
    assert.equal(src.status, 201, JSON.stringify(src.body));
    const sinkCreated = await follower.request('POST', '/connectors', { name: sink, config: { 'connector.class': 'FileStreamSink', topics: topic, file: out, 'tasks.max': '3' } });
    assert.equal(sinkCreated.status, 201, JSON.stringify(sinkCreated.body));
    assert.equal((await follower.request('POST', '/connectors', { name: sink, config: { 'connector.class': 'FileStreamSink', topics: topic, file: out } })).status, 409);
    // Exactly-once required on a cluster without it: rejected as Kafka Connect does.
    const eos = await follower.request('POST', '/connectors', { name: `${group}-eos`, config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, 'exactly.once.support': 'required' } });
    assert.equal(eos.status, 400);
    assert.match(eos.body.message, /exactly.once.support/);

    for (const name of [gen, sink]) await leader.waitForRunning(name, 60000);
    const genStatus = (await status(leader, gen))!;
    assert.equal(genStatus.tasks.length, 3);
    // Work spread over the workers, each status naming the worker that runs it.
    const ids = new Set(workers.map(workerIdOf));
    const allPlaces = [genStatus.connector.worker_id, ...genStatus.tasks.map((t) => t.worker_id), (await status(leader, sink))!.tasks[0]!.worker_id];
    for (const id of allPlaces) assert.ok(ids.has(id), `worker_id ${id} is one of the workers`);
    assert.ok(new Set(allPlaces).size >= 2, `work spread over several workers: ${allPlaces.join(', ')}`);

    // Every worker answers status and task configs from the topics: the same answers as the leader's.
    for (const name of [gen, sink]) {
      await waitFor(
        async () => {
          const l = JSON.stringify(await status(leader, name));
          for (const w of workers) if (JSON.stringify(await status(w, name)) !== l) return false;
          return true;
        },
        { timeoutMs: 15000, message: `every worker shows the leader's status of ${name}` },
      );
    }
    const tasksFromFollower = await follower.request('GET', `/connectors/${gen}/tasks`);
    assert.equal(tasksFromFollower.status, 200);
    assert.deepEqual(
      tasksFromFollower.body.map((t: { id: { task: number }; config: Record<string, string> }) => [t.id.task, t.config['task.id']]),
      [
        [0, '0'],
        [1, '1'],
        [2, '2'],
      ],
    );

    // kill -9 a follower that runs a source task, mid-stream.
    await waitFor(() => readLines(out).length > 600, { timeoutMs: 60000, message: 'records flowing' });
    const victim = workers.find((w) => w !== leader && genStatus.tasks.some((t) => t.worker_id === workerIdOf(w))) ?? workers.find((w) => w !== leader)!;
    const victimId = workerIdOf(victim);
    const moved = [...genStatus.tasks.filter((t) => t.worker_id === victimId).map((t) => `${gen}-${t.id}`)];
    const sinkStatus = (await status(leader, sink))!;
    if (sinkStatus.tasks[0]!.worker_id === victimId) moved.push(`${sink}-0`);
    await victim.kill();
    const killedAt = Date.now();
    // What was durable at the kill: the source offsets (only the owner writes them, and it is gone).
    const committedAtKill = new Map<number, number>();
    await waitFor(
      async () => {
        const r = await leader.request('GET', `/connectors/${gen}/offsets`);
        for (const o of r.body.offsets as Array<{ partition: { task: number }; offset: { position: number } }>) committedAtKill.set(o.partition.task, o.offset.position);
        return r.status === 200;
      },
      { timeoutMs: 10000, message: 'offsets at the kill' },
    );
    // And the sink's committed position against what the topic held.
    const sinkOffsets = await leader.request('GET', `/connectors/${sink}/offsets`);
    const sinkCommittedAtKill = (sinkOffsets.body.offsets as Array<{ offset: { kafka_offset: number } }>).reduce((n, o) => n + o.offset.kafka_offset, 0);
    const topicEndAtKill = await topicSize(topic);
    const survivors = workers.filter((w) => w !== victim);
    const survivorIds = new Set(survivors.map(workerIdOf));
    for (const name of [gen, sink]) {
      await waitFor(
        async () => {
          const s = await status(leader, name);
          return s && s.connector.state === 'RUNNING' && s.tasks.length > 0 && s.tasks.every((t) => t.state === 'RUNNING' && survivorIds.has(t.worker_id)) && survivorIds.has(s.connector.worker_id);
        },
        { timeoutMs: DELAY_MS + SESSION_MS + 20000, message: `${name} running on the survivors` },
      );
    }
    const failover = Date.now() - killedAt;
    assert.ok(failover <= DELAY_MS + 10000, `tasks of the dead worker ran elsewhere after ${failover} ms (limit ${DELAY_MS + 10000})`);
    assert.ok(failover >= DELAY_MS, `the departed worker's work waited scheduled.rebalance.max.delay.ms (${failover} ms)`);

    // Every record reaches the file; duplicates only from what was not committed at the kill.
    const expected = iterations * 3;
    await waitFor(() => new Set(orderIds(readLines(out))).size >= expected, { timeoutMs: 120000, message: `all ${expected} orders in the file` });
    const idsInFile = orderIds(readLines(out));
    const unique = new Set(idsInFile);
    for (let id = 0; id < expected; id++) assert.ok(unique.has(id), `order ${id} in the file`);
    const topicRecords = await consume(topic, { count: expected, timeoutMs: 60000, settleMs: 1000 });
    const seen = new Map<number, number>();
    for (const m of topicRecords) {
      const id = (JSON.parse(m.value!.toString()) as { orderid: number }).orderid;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    for (const [id, n] of seen) {
      if (n === 1) continue;
      const task = id % 3;
      const index = Math.floor(id / 3);
      // A replayed order was emitted after the last offsets its task committed before the kill.
      assert.ok(index >= (committedAtKill.get(task) ?? 0), `order ${id} (task ${task}, index ${index}) replayed although committed up to ${committedAtKill.get(task)}`);
    }
    const fileDuplicates = idsInFile.length - unique.size;
    const topicDuplicates = topicRecords.length - seen.size;
    const sinkReplayBound = moved.includes(`${sink}-0`) ? topicEndAtKill - sinkCommittedAtKill : 0;
    assert.ok(fileDuplicates <= topicDuplicates + sinkReplayBound, `file duplicates ${fileDuplicates} <= topic duplicates ${topicDuplicates} + uncommitted sink records ${sinkReplayBound}`);
    console.log(`failover ${failover} ms; moved ${moved.join(', ')}; topic duplicates ${topicDuplicates}; file duplicates ${fileDuplicates} (sink uncommitted at the kill: ${sinkReplayBound})`);

    // A fourth worker joins: some work moves to it, and work that stays is never restarted.
    const before = new Map<string, string>();
    for (const name of [gen, sink]) for (const t of (await status(leader, name))!.tasks) before.set(`${name}-${t.id}`, t.worker_id);
    const startsBefore = new Map(await Promise.all(survivors.map(async (w) => [workerIdOf(w), await taskStarts(w)] as const)));
    const fourth = await startWorker({ mode: 'distributed', workerConfig: clusterConfig(group) });
    const fourthId = workerIdOf(fourth);
    await waitFor(
      async () => {
        const all = [...(await status(leader, gen))!.tasks, ...(await status(leader, sink))!.tasks];
        return all.some((t) => t.worker_id === fourthId && t.state === 'RUNNING') && all.every((t) => t.state === 'RUNNING');
      },
      { timeoutMs: 30000, message: 'a task running on the fourth worker' },
    );
    const after = new Map<string, string>();
    for (const name of [gen, sink]) for (const t of (await status(leader, name))!.tasks) after.set(`${name}-${t.id}`, t.worker_id);
    let stayed = 0;
    for (const [task, owner] of before) {
      if (after.get(task) !== owner) continue;
      stayed++;
      const w = survivors.find((s) => workerIdOf(s) === owner)!;
      const startsNow = (await taskStarts(w)).get(task);
      assert.equal(startsNow, startsBefore.get(owner)!.get(task), `${task} kept running on ${owner} (no restart)`);
    }
    assert.ok(stayed >= 2, `most tasks stayed where they ran (${stayed})`);
    const fourthStarts = await taskStarts(fourth);
    assert.ok([...fourthStarts.values()].reduce((a, b) => a + b, 0) >= 1, 'the fourth worker started the task it was given');
  });

  it('a zombie worker (paused past its session) never commits offsets after its tasks moved', async () => {
    const group = uniqueName('zombie');
    const gen = `${group}-gen`;
    const topic = `${group}-orders`;
    const workers = await Promise.all([0, 1].map(() => startWorker({ mode: 'distributed', workerConfig: clusterConfig(group) })));
    await waitFor(() => workers.filter(isLeader).length === 1 && workers.every((w) => w.logs().includes('"Joined group"')), { timeoutMs: 30000, message: 'every worker in the group, one leader' });
    const leader = workers.find(isLeader)!;
    const zombie = workers.find((w) => w !== leader)!;
    const created = await leader.request('POST', '/connectors', {
      name: gen,
      config: { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', 'max.interval': '4', 'tasks.max': '2' },
    });
    assert.equal(created.status, 201);
    await leader.waitForRunning(gen, 60000);
    const st = await waitFor(
      async () => {
        const s = await status(leader, gen);
        return s && s.tasks.length === 2 && s.tasks.every((t) => t.state === 'RUNNING') && new Set(s.tasks.map((t) => t.worker_id)).size === 2 ? s : null;
      },
      { timeoutMs: 30000, message: 'one task on each worker' },
    );
    const zombieTasks = st.tasks.filter((t) => t.worker_id === workerIdOf(zombie)).map((t) => t.id);
    assert.ok(zombieTasks.length > 0, 'the follower runs a task');
    await waitFor(async () => ((await leader.request('GET', `/connectors/${gen}/offsets`)).body.offsets as unknown[]).length === 2, { message: 'both tasks committed' });

    process.kill(zombie.pid, 'SIGSTOP');
    try {
      await waitFor(
        async () => {
          const s = await status(leader, gen);
          return s && s.tasks.length === 2 && s.tasks.every((t) => t.state === 'RUNNING' && t.worker_id === workerIdOf(leader));
        },
        { timeoutMs: DELAY_MS + SESSION_MS + 20000, message: 'the zombie task taken over' },
      );
    } finally {
      process.kill(zombie.pid, 'SIGCONT');
    }
    await waitFor(() => /stopping every connector and task/.test(zombie.logs()), { timeoutMs: 20000, message: 'the zombie noticed it left the group' });
    // The zombie's last flush attempts come before it stops its tasks; give the leader's own commits a moment past them.
    const committedNow = async () => new Map(((await leader.request('GET', `/connectors/${gen}/offsets`)).body.offsets as Array<{ partition: { task: number }; offset: { position: number } }>).map((o) => [o.partition.task, o.offset.position]));
    const mark = await committedNow();
    await waitFor(
      async () => {
        const now = await committedNow();
        return zombieTasks.every((t) => (now.get(t) ?? 0) > (mark.get(t) ?? 0));
      },
      { timeoutMs: 15000, message: 'new commits by the new owner' },
    );

    // Every position written for the moved tasks only grows: nothing older came from the zombie.
    const records = await consume(`${group}-offsets`, { timeoutMs: 30000, settleMs: 1500 });
    for (const t of zombieTasks) {
      const positions = records
        .filter((r) => r.key?.toString() === JSON.stringify([gen, { task: t }]) && r.value)
        .map((r) => (JSON.parse(r.value!.toString()) as { position: number }).position);
      assert.ok(positions.length > 2, `positions of task ${t} recorded`);
      for (let i = 1; i < positions.length; i++) {
        assert.ok(positions[i]! >= positions[i - 1]!, `task ${t}: position ${positions[i]} written after ${positions[i - 1]} (a zombie write)`);
      }
    }
    assert.match(zombie.logs(), /not a confirmed member of the current generation|Left the group/);
  });

  it('a task restart sent to a worker that does not run the task reaches the worker that does', async () => {
    const group = uniqueName('restart');
    const gen = `${group}-gen`;
    const workers = await Promise.all([0, 1].map(() => startWorker({ mode: 'distributed', workerConfig: clusterConfig(group) })));
    await waitFor(() => workers.filter(isLeader).length === 1 && workers.every((w) => w.logs().includes('"Joined group"')), { timeoutMs: 30000, message: 'both workers in the group' });
    const created = await workers[0]!.request('POST', '/connectors', {
      name: gen,
      config: { 'connector.class': 'DatagenSource', 'kafka.topic': `${group}-orders`, quickstart: 'orders', 'max.interval': '50', 'tasks.max': '2' },
    });
    assert.equal(created.status, 201);
    const st = await waitFor(
      async () => {
        const s = await status(workers[0]!, gen);
        return s && s.tasks.length === 2 && s.tasks.every((t) => t.state === 'RUNNING') && new Set(s.tasks.map((t) => t.worker_id)).size === 2 ? s : null;
      },
      { timeoutMs: 60000, message: 'one task on each worker' },
    );
    for (const t of st.tasks) {
      const owner = workers.find((w) => workerIdOf(w) === t.worker_id)!;
      const other = workers.find((w) => w !== owner)!;
      const key = `${gen}-${t.id}`;
      const before = (await taskStarts(owner)).get(key) ?? 0;
      const r = await other.request('POST', `/connectors/${gen}/tasks/${t.id}/restart`);
      assert.equal(r.status, 204, JSON.stringify(r.body));
      await waitFor(async () => ((await taskStarts(owner)).get(key) ?? 0) === before + 1, { timeoutMs: 15000, message: `${key} restarted by its owner` });
      assert.equal((await taskStarts(other)).get(key) ?? 0, 0, `${key} never started on the other worker`);
    }
    assert.equal((await workers[0]!.request('POST', `/connectors/${gen}/tasks/7/restart`)).status, 404);

    // Active topics come from the status topic: every worker lists them; a reset sent to any worker clears them everywhere.
    for (const w of workers) {
      await waitFor(async () => JSON.stringify((await w.request('GET', `/connectors/${gen}/topics`)).body) === JSON.stringify({ [gen]: { topics: [`${group}-orders`] } }), {
        timeoutMs: 15000,
        message: `active topics on ${workerIdOf(w)}`,
      });
    }
    const follower = workers.find((w) => !isLeader(w))!;
    // Stopped first: running tasks would record the topic again as they write.
    assert.equal((await follower.request('PUT', `/connectors/${gen}/stop`)).status, 204);
    await waitFor(async () => (await status(workers[0]!, gen))?.connector.state === 'STOPPED', { timeoutMs: 15000, message: 'connector stopped' });
    assert.equal((await follower.request('PUT', `/connectors/${gen}/topics/reset`)).status, 202);
    for (const w of workers) {
      await waitFor(async () => ((await w.request('GET', `/connectors/${gen}/topics`)).body[gen].topics as string[]).length === 0, { timeoutMs: 15000, message: `topics reset on ${workerIdOf(w)}` });
    }
  });
});
