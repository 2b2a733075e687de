import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

describe('Config file deployment (watched connectors folder)', () => {
  let w: WorkerHandle;
  before(async () => {
    await requireStack('kafka');
    w = await startWorker();
  });
  after(async () => w?.stop());

  const status = async (name: string) => (await w.request('GET', `/connectors/${name}/status`)).body;

  it('adding, changing, breaking and removing a file creates, reconfigures, keeps and deletes the connector', async () => {
    const name = uniqueName('deployed');
    const file = join(w.dir, 'connectors', `${name}.json`);
    const config = { 'connector.class': 'DatagenSource', 'kafka.topic': name, quickstart: 'pageviews', 'max.interval': '50', 'tasks.max': '1' };

    writeFileSync(file, JSON.stringify({ name, config }));
    await w.waitForRunning(name);
    assert.equal((await w.request('GET', `/connectors/${name}/config`)).body['tasks.max'], '1');

    writeFileSync(file, JSON.stringify({ name, config: { ...config, 'tasks.max': '2' } }));
    await waitFor(async () => (await status(name)).tasks.length === 2, { message: 'reconfigured to 2 tasks' });
    await w.waitForRunning(name);

    writeFileSync(file, '{"name": "' + name + '", "config": {');
    await waitFor(async () => /rejected/.test((await status(name)).connector.message ?? ''), { message: 'broken file reported in status' });
    const st = await status(name);
    assert.equal(st.connector.state, 'RUNNING', 'the running connector is untouched');
    assert.equal(st.tasks.length, 2);
    assert.match(w.logs(), /Connector file rejected/);

    writeFileSync(file, JSON.stringify({ name, config: { ...config, 'tasks.max': 'lots' } }));
    await waitFor(async () => /tasks\.max/.test((await status(name)).connector.message ?? ''), { message: 'invalid config reported' });
    assert.equal((await status(name)).tasks.length, 2);

    writeFileSync(file, JSON.stringify({ name, config: { ...config, 'tasks.max': '1' } }));
    await waitFor(async () => {
      const s = await status(name);
      return s.tasks.length === 1 && !s.connector.message;
    }, { message: 'fixed file applied' });

    rmSync(file);
    await waitFor(async () => (await w.request('GET', `/connectors/${name}`)).status === 404, { message: 'connector deleted with its file' });
  });

  it('a broken new file never becomes a connector, and others keep running', async () => {
    const good = uniqueName('good');
    writeFileSync(join(w.dir, 'connectors', `${good}.json`), JSON.stringify({ name: good, config: { 'connector.class': 'DatagenSource', 'kafka.topic': good } }));
    writeFileSync(join(w.dir, 'connectors', 'broken.json'), '{ nope');
    await w.waitForRunning(good);
    await waitFor(() => /broken\.json is not valid JSON/.test(w.logs()), { message: 'broken file logged' });
    const names = (await w.request('GET', '/connectors')).body;
    assert.ok(names.includes(good));
    assert.equal(names.length, 1);
  });
});
