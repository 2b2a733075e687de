/**
 * Distributed mode with a plugin that loads its implementation (and its
 * client library, pg) only when a connector or task of it is created: the
 * connector and its task start once loading ends, run, and deliver.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { killAllWorkers, requireStack, startWorker, topicSize, uniqueName, waitFor } from './harness/index.js';
import { clusterConfig } from './harness/cluster.js';

const PG_URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

describe('Distributed mode: a lazily loaded plugin', () => {
  const table = uniqueName('lazy_rows').replace(/-/g, '_');
  let db: pg.Client;

  before(async () => {
    await requireStack('kafka', 'postgres');
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text)`);
    await db.query(`INSERT INTO ${table} SELECT g, 'row ' || g FROM generate_series(1, 500) g`);
  });

  after(async () => {
    await killAllWorkers();
    await db.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await db.end();
  });

  it('PostgresSource created through a distributed worker runs its task and writes every row', async () => {
    const group = uniqueName('dist-lazy');
    const w = await startWorker({ mode: 'distributed', workerConfig: clusterConfig(group) });
    await waitFor(() => w.logs().includes('"Joined group"'), { timeoutMs: 60000, message: 'worker in the group' });
    const name = `${group}-pg`;
    const prefix = `${group}-`;
    await waitFor(
      async () =>
        (
          await w.request('POST', '/connectors', {
            name,
            config: { 'connector.class': 'PostgresSource', 'connection.url': PG_URL, mode: 'bulk', 'table.include.list': table, 'topic.prefix': prefix, 'poll.interval.ms': '3600000' },
          })
        ).status === 201,
      { timeoutMs: 30000, message: 'connector created' },
    );
    const status = await waitFor(
      async () => {
        const s = (await w.request('GET', `/connectors/${name}/status`)).body as { connector: { state: string }; tasks: Array<{ state: string; trace?: string }> };
        assert.notEqual(s.tasks?.[0]?.state, 'FAILED', s.tasks?.[0]?.trace);
        return s.connector?.state === 'RUNNING' && s.tasks?.length === 1 && s.tasks[0]!.state === 'RUNNING' ? s : null;
      },
      { timeoutMs: 60000, message: 'connector and task RUNNING' },
    );
    assert.equal(status.tasks.length, 1);
    await waitFor(async () => (await topicSize(`${prefix}${table}`)) >= 500, { timeoutMs: 60000, message: 'every row in the topic' });
    assert.equal(await topicSize(`${prefix}${table}`), 500);
  });
});
