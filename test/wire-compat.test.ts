/**
 * Kafka Connect REST wire compatibility: the points where a side-by-side run
 * against Apache Kafka Connect 4.4 differed, one test each.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

type ConfigEntry = { definition: { name: string; group: string | null; order_in_group: number }; value: { name: string; errors: string[] } };

describe('Kafka Connect wire compatibility', () => {
  let w: WorkerHandle;
  before(async () => {
    await requireStack('kafka');
    w = await startWorker({ workerConfig: { 'value.converter.schemas.enable': 'false' } });
  });
  after(async () => w?.stop());

  it('config definitions carry order_in_group (position in the group, -1 without one)', async () => {
    const r = await w.request('GET', '/connector-plugins/DatagenSource/config');
    assert.equal(r.status, 200);
    const byName = new Map(r.body.map((d: { name: string }) => [d.name, d]));
    const name = byName.get('name') as { order_in_group: number; group: string; order?: number };
    assert.equal(name.group, 'Common');
    assert.equal(name.order_in_group, 1);
    assert.equal((byName.get('connector.class') as { order_in_group: number }).order_in_group, 2);
    assert.equal(name.order, undefined, 'no field Kafka Connect does not send');
    for (const d of r.body as Array<{ group: string | null; order_in_group: number }>) {
      assert.equal(typeof d.order_in_group, 'number');
      if (d.group === null) assert.equal(d.order_in_group, -1);
      else assert.ok(d.order_in_group >= 1);
    }
  });

  it('connector and task status carry the plugin version', async () => {
    const name = uniqueName('ver');
    const r = await w.request('POST', '/connectors', { name, config: { 'connector.class': 'DatagenSource', 'kafka.topic': name, quickstart: 'users', 'max.interval': '200' } });
    assert.equal(r.status, 201);
    await w.waitForRunning(name);
    const st = await w.request('GET', `/connectors/${name}/status`);
    assert.match(st.body.connector.version, /^\d+\.\d+\.\d+/);
    assert.equal(st.body.tasks[0].version, st.body.connector.version);
    const ts = await w.request('GET', `/connectors/${name}/tasks/0/status`);
    assert.equal(ts.body.version, st.body.connector.version);
    // GET /connectors/<name>/tasks: every task config names its class
    const tasks = await w.request('GET', `/connectors/${name}/tasks`);
    assert.equal(tasks.body[0].config['task.class'], 'DatagenSourceTask');
    assert.equal((await w.request('GET', `/connectors/${name}/tasks/7/status`)).status, 404);
    assert.equal((await w.request('DELETE', `/connectors/${name}`)).status, 204);
  });

  it('config/validate lists the options of the configured transforms, predicates and converters, and error_count counts every error listed', async () => {
    const r = await w.request('PUT', '/connector-plugins/DatagenSource/config/validate', {
      'connector.class': 'DatagenSource',
      'kafka.topic': 't',
      'tasks.max': 'two',
      transforms: 'route,mask',
      'transforms.route.type': 'org.apache.kafka.connect.transforms.RegexRouter',
      'transforms.route.regex': '(.*)',
      'transforms.route.replacement': '$1-x',
      'transforms.mask.type': 'org.apache.kafka.connect.transforms.MaskField$Value',
      'transforms.mask.predicate': 'isT',
      predicates: 'isT',
      'predicates.isT.type': 'org.apache.kafka.connect.transforms.predicates.TopicNameMatches',
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.decimal.format': 'OCTAL',
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const configs = r.body.configs as ConfigEntry[];
    const names = new Set(configs.map((c) => c.value.name));
    for (const k of ['transforms.route.type', 'transforms.route.regex', 'transforms.route.replacement', 'transforms.mask.fields', 'predicates.isT.pattern', 'value.converter.schemas.enable', 'value.converter.decimal.format']) {
      assert.ok(names.has(k), `${k} listed`);
    }
    for (const g of ['Common', 'Transforms: route', 'Transforms: mask', 'Predicates: isT', 'Schemas', 'Serialization']) assert.ok(r.body.groups.includes(g), `group ${g} in ${r.body.groups}`);
    const route = configs.find((c) => c.value.name === 'transforms.route.regex')!;
    assert.equal(route.definition.group, 'Transforms: route');
    const listed = configs.reduce((n, c) => n + c.value.errors.length, 0);
    assert.ok(listed >= 3, `errors listed: ${listed}`);
    assert.equal(r.body.error_count, listed);
    assert.ok(configs.find((c) => c.value.name === 'tasks.max')!.value.errors.length > 0);
    assert.ok(configs.find((c) => c.value.name === 'predicates.isT.pattern')!.value.errors.length > 0, 'the missing predicate pattern is reported on its key');
    assert.ok(configs.find((c) => c.value.name === 'value.converter.decimal.format')!.value.errors.length > 0);
  });

  it('initial_state=PAUSED creates the connector without starting tasks', async () => {
    const name = uniqueName('paused');
    const r = await w.request('POST', '/connectors', { name, config: { 'connector.class': 'DatagenSource', 'kafka.topic': name, quickstart: 'users' }, initial_state: 'PAUSED' });
    assert.equal(r.status, 201);
    const st = await w.request('GET', `/connectors/${name}/status`);
    assert.equal(st.body.connector.state, 'PAUSED');
    assert.deepEqual(st.body.tasks, []);
    assert.deepEqual((await w.request('GET', `/connectors/${name}/tasks`)).body, []);
    assert.equal((await w.request('PUT', `/connectors/${name}/resume`)).status, 202);
    await w.waitForRunning(name);
    assert.equal((await w.request('DELETE', `/connectors/${name}`)).status, 204);
  });

  it('PATCH /offsets validates offsets through the connector: a FileStreamSource position that is not a number is a 400', async () => {
    const name = uniqueName('fsrc');
    const file = join(w.dir, `${name}.txt`);
    writeFileSync(file, 'a\nb\n');
    const r = await w.request('POST', '/connectors', { name, config: { 'connector.class': 'FileStreamSource', file, topic: name }, initial_state: 'STOPPED' });
    assert.equal(r.status, 201);
    const bad = await w.request('PATCH', `/connectors/${name}/offsets`, { offsets: [{ partition: { filename: file }, offset: { position: 'ten' } }] });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.match(bad.body.message, /position/);
    const badPartition = await w.request('PATCH', `/connectors/${name}/offsets`, { offsets: [{ partition: { file }, offset: { position: 1 } }] });
    assert.equal(badPartition.status, 400);
    assert.deepEqual((await w.request('GET', `/connectors/${name}/offsets`)).body, { offsets: [] }, 'nothing stored');
    const good = await w.request('PATCH', `/connectors/${name}/offsets`, { offsets: [{ partition: { filename: file }, offset: { position: 2 } }] });
    assert.equal(good.status, 200, JSON.stringify(good.body));
    await waitFor(async () => (await w.request('GET', `/connectors/${name}/offsets`)).body.offsets.length === 1, { message: 'offset stored' });
    assert.equal((await w.request('DELETE', `/connectors/${name}`)).status, 204);
  });
});
