import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readLines, requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

describe('REST API (Kafka Connect wire compatibility)', () => {
  let w: WorkerHandle;
  const topic = uniqueName('rest');
  const src = `${topic}-src`;
  const sink = `${topic}-sink`;
  const srcConfig = { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'users', 'max.interval': '20', 'tasks.max': '1' };

  before(async () => {
    await requireStack('kafka');
    w = await startWorker({ workerConfig: { 'value.converter.schemas.enable': 'false' } });
  });
  after(async () => w?.stop());

  it('GET / and /health', async () => {
    const root = await w.request('GET', '/');
    assert.equal(root.status, 200);
    assert.equal(typeof root.body.version, 'string');
    assert.equal(typeof root.body.commit, 'string');
    assert.match(root.body.kafka_cluster_id, /^[\w-]{10,}$/);
    const health = await w.request('GET', '/health');
    assert.deepEqual(health.body.status, 'healthy');
    assert.equal(health.status, 200);
  });

  it('creates a connector (201 + Location) and refuses a duplicate (409)', async () => {
    const r = await w.request('POST', '/connectors', { name: src, config: srcConfig });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.headers.get('location'), `${w.url}/connectors/${src}`);
    assert.equal(r.body.name, src);
    assert.equal(r.body.type, 'source');
    assert.equal(r.body.config['kafka.topic'], topic);
    const dup = await w.request('POST', '/connectors', { name: src, config: srcConfig });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error_code, 409);
    assert.match(dup.body.message, /already exists/);
    await w.waitForRunning(src);
  });

  it('rejects invalid configs with 400 and field-level messages', async () => {
    const bad = await w.request('POST', '/connectors', { name: 'bad-one', config: { 'connector.class': 'DatagenSource', 'tasks.max': 'two' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error_code, 400);
    assert.match(bad.body.message, /kafka\.topic/);
    assert.match(bad.body.message, /tasks\.max/);
    const unknown = await w.request('POST', '/connectors', { name: 'bad-two', config: { 'connector.class': 'NoSuchConnector' } });
    assert.equal(unknown.status, 400);
    const noName = await w.request('POST', '/connectors', { config: srcConfig });
    assert.equal(noName.status, 400);
    const malformed = await w.request('POST', '/connectors', '{"name": "x", "config": {');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error_code, 400);
    const badState = await w.request('POST', '/connectors', { name: 'bad-three', config: srcConfig, initial_state: 'SLEEPING' });
    assert.equal(badState.status, 400);
  });

  it('answers 415 to a body that is not application/json', async () => {
    const r = await fetch(`${w.url}/connectors`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ name: 'plain', config: srcConfig }) });
    assert.equal(r.status, 415);
    assert.equal(((await r.json()) as { error_code: number }).error_code, 415);
    const put = await fetch(`${w.url}/connectors/plain/config`, { method: 'PUT', body: JSON.stringify(srcConfig) });
    assert.equal(put.status, 415, 'fetch sends text/plain for a string body');
    assert.equal((await w.request('GET', '/connectors/plain')).status, 404);
  });

  it('lists connectors, with expand=status and expand=info', async () => {
    const list = await w.request('GET', '/connectors');
    assert.ok(list.body.includes(src));
    const exp = await w.request('GET', '/connectors?expand=status&expand=info');
    assert.equal(exp.body[src].status.connector.state, 'RUNNING');
    assert.equal(exp.body[src].info.type, 'source');
    const onlyStatus = await w.request('GET', '/connectors?expand=status');
    assert.equal(onlyStatus.body[src].info, undefined);
  });

  it('gets info, config, tasks, status and task status; 404 for unknown ones', async () => {
    const info = await w.request('GET', `/connectors/${src}`);
    assert.deepEqual(info.body.tasks, [{ connector: src, task: 0 }]);
    const cfg = await w.request('GET', `/connectors/${src}/config`);
    assert.equal(cfg.body['connector.class'], 'DatagenSource');
    assert.equal(cfg.body.name, src);
    const tasks = await w.request('GET', `/connectors/${src}/tasks`);
    assert.deepEqual(tasks.body[0].id, { connector: src, task: 0 });
    assert.equal(tasks.body[0].config['kafka.topic'], topic);
    const st = await w.request('GET', `/connectors/${src}/status`);
    assert.equal(st.body.name, src);
    assert.equal(st.body.type, 'source');
    assert.equal(st.body.connector.state, 'RUNNING');
    assert.match(st.body.connector.worker_id, /:\d+$/);
    const ts = await w.request('GET', `/connectors/${src}/tasks/0/status`);
    assert.deepEqual({ id: ts.body.id, state: ts.body.state }, { id: 0, state: 'RUNNING' });
    for (const path of [`/connectors/nope`, `/connectors/nope/config`, `/connectors/nope/status`, `/connectors/nope/tasks`, `/connectors/${src}/tasks/7/status`]) {
      const r = await w.request('GET', path);
      assert.equal(r.status, 404, path);
      assert.equal(r.body.error_code, 404);
    }
    const route = await w.request('GET', '/no/such/route');
    assert.equal(route.status, 404);
    assert.equal(route.body.error_code, 404);
  });

  it('PUT config creates (201) then updates (200); PATCH merges and removes keys', async () => {
    const out = join(w.dir, 'rest-sink.txt');
    const created = await w.request('PUT', `/connectors/${sink}/config`, { 'connector.class': 'FileStreamSink', topics: topic, file: out, 'tasks.max': 1 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.type, 'sink');
    await w.waitForRunning(sink);
    await waitFor(() => readLines(out).length > 5, { message: 'sink writes' });
    const updated = await w.request('PUT', `/connectors/${sink}/config`, { 'connector.class': 'FileStreamSink', topics: topic, file: out, 'tasks.max': 2 });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.config['tasks.max'], '2');
    const mismatch = await w.request('PUT', `/connectors/${sink}/config`, { 'connector.class': 'FileStreamSink', topics: topic, file: out, name: 'other' });
    assert.equal(mismatch.status, 400);
    const patched = await w.request('PATCH', `/connectors/${sink}/config`, { 'tasks.max': null, 'errors.log.enable': 'true' });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.config['tasks.max'], undefined);
    assert.equal(patched.body.config['errors.log.enable'], 'true');
    const badPatch = await w.request('PATCH', `/connectors/${sink}/config`, { 'tasks.max': 'many' });
    assert.equal(badPatch.status, 400);
    const missing = await w.request('PATCH', '/connectors/nope/config', { a: 'b' });
    assert.equal(missing.status, 404);
    await w.waitForRunning(sink);
  });

  it('pauses and resumes (202) without losing position', async () => {
    assert.equal((await w.request('PUT', `/connectors/${src}/pause`)).status, 202);
    await waitFor(async () => (await w.request('GET', `/connectors/${src}/status`)).body.tasks[0].state === 'PAUSED', { message: 'PAUSED' });
    const st = await w.request('GET', `/connectors/${src}/status`);
    assert.equal(st.body.connector.state, 'PAUSED');
    assert.equal((await w.request('PUT', `/connectors/${src}/resume`)).status, 202);
    await w.waitForRunning(src);
    assert.equal((await w.request('PUT', '/connectors/nope/pause')).status, 404);
  });

  it('restarts connector (204), with tasks (202 + RESTARTING), and a task (204)', async () => {
    assert.equal((await w.request('POST', `/connectors/${src}/restart`)).status, 204);
    const withTasks = await w.request('POST', `/connectors/${src}/restart?includeTasks=true&onlyFailed=false`);
    assert.equal(withTasks.status, 202);
    assert.equal(withTasks.body.connector.state, 'RESTARTING');
    assert.equal(withTasks.body.tasks[0].state, 'RESTARTING');
    await w.waitForRunning(src);
    const onlyFailed = await w.request('POST', `/connectors/${src}/restart?includeTasks=true&onlyFailed=true`);
    assert.equal(onlyFailed.status, 202);
    assert.equal(onlyFailed.body.tasks[0].state, 'RUNNING', 'a running task is not restarted with onlyFailed');
    assert.equal((await w.request('POST', `/connectors/${src}/tasks/0/restart`)).status, 204);
    assert.equal((await w.request('POST', `/connectors/${src}/tasks/9/restart`)).status, 404);
    assert.equal((await w.request('POST', '/connectors/nope/restart')).status, 404);
    await w.waitForRunning(src);
  });

  it('reports and resets active topics', async () => {
    const topics = async () => (await w.request('GET', `/connectors/${src}/topics`)).body;
    await waitFor(async () => (await topics())[src]?.topics?.length > 0, { message: 'the active topic recorded' });
    assert.deepEqual(await topics(), { [src]: { topics: [topic] } });
    // A running task records its topic again with its next write (as Kafka Connect's does), so the
    // empty set is checked on a stopped connector; resumed, it records the topic again.
    assert.equal((await w.request('PUT', `/connectors/${src}/stop`)).status, 204);
    await waitFor(async () => (await w.request('GET', `/connectors/${src}/status`)).body.connector.state === 'STOPPED', { message: 'STOPPED' });
    assert.equal((await w.request('PUT', `/connectors/${src}/topics/reset`)).status, 202);
    assert.deepEqual((await topics())[src].topics, []);
    assert.equal((await w.request('PUT', `/connectors/${src}/resume`)).status, 202);
    await w.waitForRunning(src);
    await waitFor(async () => (await topics())[src]?.topics?.[0] === topic, { message: 'the resumed task records its topic again' });
  });

  it('offsets: get; patch and delete only when STOPPED (400 otherwise)', async () => {
    await waitFor(async () => (await w.request('GET', `/connectors/${src}/offsets`)).body.offsets.length > 0, { message: 'source offsets flushed' });
    const got = await w.request('GET', `/connectors/${src}/offsets`);
    assert.deepEqual(got.body.offsets[0].partition, { task: 0 });
    assert.equal(typeof got.body.offsets[0].offset.position, 'number');
    const early = await w.request('PATCH', `/connectors/${src}/offsets`, { offsets: [{ partition: { task: 0 }, offset: { position: 5 } }] });
    assert.equal(early.status, 400);
    assert.match(early.body.message, /STOPPED/);
    assert.equal((await w.request('DELETE', `/connectors/${src}/offsets`)).status, 400);

    assert.equal((await w.request('PUT', `/connectors/${src}/stop`)).status, 204);
    assert.equal((await w.request('PUT', `/connectors/${src}/stop`)).status, 204, 'stop is idempotent');
    const stopped = await w.request('GET', `/connectors/${src}/status`);
    assert.equal(stopped.body.connector.state, 'STOPPED');
    assert.deepEqual(stopped.body.tasks, []);
    assert.deepEqual((await w.request('GET', `/connectors/${src}`)).body.tasks, []);

    const empty = await w.request('PATCH', `/connectors/${src}/offsets`, { offsets: [] });
    assert.equal(empty.status, 400);
    const patched = await w.request('PATCH', `/connectors/${src}/offsets`, { offsets: [{ partition: { task: 0 }, offset: { position: 5 } }] });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.match(patched.body.message, /altered successfully/);
    assert.deepEqual((await w.request('GET', `/connectors/${src}/offsets`)).body.offsets, [{ partition: { task: 0 }, offset: { position: 5 } }]);
    const reset = await w.request('DELETE', `/connectors/${src}/offsets`);
    assert.equal(reset.status, 200);
    assert.match(reset.body.message, /reset successfully/);
    assert.deepEqual((await w.request('GET', `/connectors/${src}/offsets`)).body.offsets, []);

    // sink offsets use Kafka coordinates
    assert.equal((await w.request('PUT', `/connectors/${sink}/stop`)).status, 204);
    const sinkOffsets = await w.request('GET', `/connectors/${sink}/offsets`);
    assert.equal(sinkOffsets.status, 200);
    assert.deepEqual(Object.keys(sinkOffsets.body.offsets[0].partition).sort(), ['kafka_partition', 'kafka_topic']);
    const setSink = await w.request('PATCH', `/connectors/${sink}/offsets`, { offsets: [{ partition: { kafka_topic: topic, kafka_partition: 0 }, offset: { kafka_offset: 3 } }] });
    assert.equal(setSink.status, 200, JSON.stringify(setSink.body));
    const now = await w.request('GET', `/connectors/${sink}/offsets`);
    assert.deepEqual(now.body.offsets, [{ partition: { kafka_topic: topic, kafka_partition: 0 }, offset: { kafka_offset: 3 } }]);
    assert.equal((await w.request('DELETE', `/connectors/${sink}/offsets`)).status, 200);

    // resume from STOPPED starts it again
    assert.equal((await w.request('PUT', `/connectors/${src}/resume`)).status, 202);
    await w.waitForRunning(src);
  });

  it('creates with initial_state STOPPED and PAUSED', async () => {
    const name = `${topic}-stopped`;
    const r = await w.request('POST', '/connectors', { name, config: srcConfig, initial_state: 'STOPPED' });
    assert.equal(r.status, 201);
    const st = await w.request('GET', `/connectors/${name}/status`);
    assert.equal(st.body.connector.state, 'STOPPED');
    const paused = `${topic}-paused`;
    assert.equal((await w.request('POST', '/connectors', { name: paused, config: srcConfig, initial_state: 'PAUSED' })).status, 201);
    // as in Kafka Connect: the connector is PAUSED and no task exists until it is resumed
    const ps = await w.request('GET', `/connectors/${paused}/status`);
    assert.equal(ps.body.connector.state, 'PAUSED');
    assert.deepEqual(ps.body.tasks, []);
    assert.equal((await w.request('PUT', `/connectors/${paused}/resume`)).status, 202);
    await w.waitForRunning(paused);
    assert.equal((await w.request('DELETE', `/connectors/${name}`)).status, 204);
    assert.equal((await w.request('DELETE', `/connectors/${paused}`)).status, 204);
    assert.equal((await w.request('DELETE', `/connectors/${name}`)).status, 404);
  });

  it('lists plugins, describes and validates their configs', async () => {
    const plugins = await w.request('GET', '/connector-plugins');
    const classes = plugins.body.map((p: { class: string }) => p.class);
    for (const c of ['DatagenSource', 'FileStreamSource', 'FileStreamSink']) assert.ok(classes.includes(c), c);
    assert.ok(plugins.body.every((p: { type: string }) => p.type === 'source' || p.type === 'sink'));
    const all = await w.request('GET', '/connector-plugins?connectorsOnly=false');
    const types = new Set(all.body.map((p: { type: string }) => p.type));
    assert.ok(types.has('converter'));
    assert.ok(types.has('header_converter'));

    const def = await w.request('GET', '/connector-plugins/DatagenSource/config');
    const topicDef = def.body.find((d: { name: string }) => d.name === 'kafka.topic');
    assert.deepEqual(Object.keys(topicDef).sort(), ['default_value', 'dependents', 'display_name', 'documentation', 'group', 'importance', 'name', 'order_in_group', 'required', 'type', 'width']);
    assert.equal(topicDef.required, true);
    assert.equal((await w.request('GET', '/connector-plugins/Nope/config')).status, 404);
    const byAlias = await w.request('GET', '/connector-plugins/org.apache.kafka.connect.file.FileStreamSinkConnector/config');
    assert.equal(byAlias.status, 200);

    const v = await w.request('PUT', '/connector-plugins/DatagenSource/config/validate', { 'connector.class': 'DatagenSource', 'tasks.max': '0', quickstart: 'cats' });
    assert.equal(v.status, 200);
    assert.equal(v.body.name, 'DatagenSource');
    assert.ok(v.body.error_count >= 3, JSON.stringify(v.body));
    const byName = Object.fromEntries(v.body.configs.map((c: { value: { name: string; errors: string[] } }) => [c.value.name, c.value.errors]));
    assert.ok(byName['kafka.topic'].length > 0);
    assert.ok(byName['tasks.max'].length > 0);
    assert.ok(byName['quickstart'].length > 0);
    assert.ok(Array.isArray(v.body.groups));
    const okv = await w.request('PUT', '/connector-plugins/DatagenSource/config/validate', { ...srcConfig, name: 'valid-one' });
    assert.equal(okv.body.error_count, 0, JSON.stringify(okv.body.configs.filter((c: { value: { errors: string[] } }) => c.value.errors.length)));
    const mismatch = await w.request('PUT', '/connector-plugins/FileStreamSink/config/validate', srcConfig);
    assert.equal(mismatch.status, 400);
  });

  it('admin loggers: list, get, set', async () => {
    const list = await w.request('GET', '/admin/loggers');
    assert.equal(list.status, 200);
    assert.ok(list.body.root.level);
    const set = await w.request('PUT', '/admin/loggers/connector', { level: 'DEBUG' });
    assert.equal(set.status, 200);
    assert.ok(Array.isArray(set.body));
    const one = await w.request('GET', '/admin/loggers/connector');
    assert.equal(one.body.level, 'DEBUG');
    assert.equal(typeof one.body.last_modified, 'number');
    assert.equal((await w.request('PUT', '/admin/loggers/connector', { level: 'LOUD' })).status, 400);
    assert.equal((await w.request('GET', '/admin/loggers/no.such.logger')).status, 404);
  });

  it('exposes Prometheus metrics labelled by connector and task', async () => {
    const m = await w.request('GET', '/metrics');
    assert.equal(m.status, 200);
    const text = m.body as string;
    assert.match(text, new RegExp(`ferry_source_record_poll_total\\{connector="${src}",task="0"\\} \\d+`));
    assert.match(text, new RegExp(`ferry_source_record_write_total\\{connector="${src}",task="0"\\} \\d+`));
    assert.match(text, new RegExp(`ferry_sink_record_read_total\\{connector="${sink}",task="0"\\} \\d+`));
    assert.match(text, /ferry_offset_commit_success_total\{/);
    assert.match(text, /ferry_offset_commit_seconds_bucket\{/);
    assert.match(text, new RegExp(`ferry_task_state\\{connector="${src}",task="0",state="RUNNING"\\} 1`));
  });

  it('deletes (204) and a connector created over REST survives a restart', async () => {
    await w.stop();
    w = await startWorker({ dir: w.dir, workerConfig: { 'value.converter.schemas.enable': 'false' } });
    const list = await w.request('GET', '/connectors');
    assert.ok(list.body.includes(src), 'REST-created connector restored');
    await w.waitForRunning(src);
    const stoppedSink = await w.request('GET', `/connectors/${sink}/status`);
    assert.equal(stoppedSink.body.connector.state, 'STOPPED', 'target state survives too');
    assert.equal((await w.request('DELETE', `/connectors/${src}`)).status, 204);
    assert.equal((await w.request('GET', `/connectors/${src}`)).status, 404);
  });
});
