import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { createTopic, produce, requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const PLUGINS = join(ROOT, 'test/fixtures/test-plugins.ts');
const dashboard = JSON.parse(readFileSync(join(ROOT, 'configs/monitoring/grafana-dashboard.json'), 'utf8'));

/** Series that only get a sample when a rare event happens (a retriable failure, a failed DLQ or commit write); they must still be declared. */
const EVENT_ONLY = new Set(['ferry_total_retries', 'ferry_deadletterqueue_produce_failures', 'ferry_offset_commit_failure_total']);

function queriedSeries(): string[] {
  const exprs: string[] = [];
  const walk = (panels: Array<{ targets?: Array<{ expr: string }>; panels?: unknown[] }>) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) exprs.push(t.expr);
      if (p.panels) walk(p.panels as never);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating.list) exprs.push(v.query.query);
  return [...new Set(exprs.flatMap((e) => [...e.matchAll(/\bferry_[a-z0-9_]+/g)].map((m) => m[0])))].sort();
}

describe('Grafana dashboard and Prometheus example', () => {
  let w: WorkerHandle;
  const topic = uniqueName('dash');
  const rejects = `${topic}-rejects`;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-dash-'));

  before(async () => {
    await requireStack('kafka');
    w = await startWorker({ workerConfig: { 'plugin.path': PLUGINS, 'value.converter.schemas.enable': 'false' } });
    await createTopic(rejects);
    await produce(rejects, [{ value: JSON.stringify({ reject: true }) }, { value: '{not json' }, { value: JSON.stringify({ n: 1 }) }]);
    const create = async (name: string, config: Record<string, string>) => {
      const r = await w.request('POST', '/connectors', { name, config });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    };
    await create(`${topic}-src`, { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', 'max.interval': '20' });
    await create(`${topic}-sink`, { 'connector.class': 'FileStreamSink', topics: topic, file: join(dir, 'out.jsonl') });
    await create(`${topic}-rejecting`, {
      'connector.class': 'RejectingSink',
      topics: rejects,
      file: join(dir, 'accepted.jsonl'),
      'errors.tolerance': 'all',
      'errors.deadletterqueue.topic.name': `${rejects}-dlq`,
    });
    await create(`${topic}-flaky`, { 'connector.class': 'FlakySource', topic: `${topic}-flaky`, 'marker.file': join(dir, 'marker'), 'errors.task.restart.backoff.initial.ms': '100' });
  });
  after(async () => w?.stop());

  it('is a well-formed dashboard: unique panel ids, a Prometheus data source input, a connector variable', () => {
    const ids = dashboard.panels.map((p: { id: number }) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(dashboard.__inputs[0].pluginId, 'prometheus');
    for (const p of dashboard.panels) if (p.type !== 'row') assert.equal(p.datasource.uid, '${DS_PROMETHEUS}', p.title);
    assert.ok(dashboard.templating.list.some((v: { name: string }) => v.name === 'connector'));
    assert.ok(queriedSeries().length >= 15, queriedSeries().join(', '));
  });

  it('has a Prometheus scrape example pointing at /metrics', () => {
    const prom = parseYaml(readFileSync(join(ROOT, 'configs/monitoring/prometheus.yml'), 'utf8'));
    const job = prom.scrape_configs.find((j: { job_name: string }) => j.job_name === 'ferry');
    assert.equal(job.metrics_path, '/metrics');
    assert.match(job.static_configs[0].targets[0], /:8083$/);
  });

  it("queries only series a real worker's /metrics exposes", async () => {
    const series = queriedSeries();
    const family = (s: string) => s.replace(/_(bucket|sum|count)$/, '');
    const missing = await waitFor(
      async () => {
        const text = (await w.request('GET', '/metrics')).body as string;
        const declared = new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
        const sampled = new Set([...text.matchAll(/^([a-z_0-9]+)[{ ]/gm)].map((m) => m[1]));
        const undeclared = series.filter((s) => !declared.has(family(s)));
        assert.deepEqual(undeclared, [], `series the dashboard queries that /metrics does not declare: ${undeclared.join(', ')}`);
        const unsampled = series.filter((s) => !EVENT_ONLY.has(s) && !sampled.has(s));
        return unsampled.length === 0 ? [] : null;
      },
      { timeoutMs: 90000, intervalMs: 1000, message: 'every queried series to have samples' },
    );
    assert.deepEqual(missing, []);
    for (const s of EVENT_ONLY) assert.ok(series.includes(s), `${s} is exempt from sampling but not queried`);
  });
});
