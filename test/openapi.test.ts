import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { routes } from '../packages/worker/src/rest/handlers.ts';
import { jobRoutes } from '../packages/worker/src/jobs/routes.ts';
import { openApiDocument } from '../packages/worker/src/rest/openapi.ts';
import { requireStack, startWorker, uniqueName, type WorkerHandle } from './harness/index.js';

type Paths = Record<string, Record<string, unknown>>;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const toOpenApi = (expressPath: string) => expressPath.replace(/:(\w+)/g, '{$1}');
const paths = openApiDocument.paths as unknown as Paths;

/** Every documented operation, as [METHOD, path template]. */
function operations(): Array<[string, string]> {
  return Object.entries(paths).flatMap(([p, item]) => METHODS.filter((m) => m in item).map((m): [string, string] => [m.toUpperCase(), p]));
}

describe('OpenAPI document', () => {
  it('documents every route of the handlers, and nothing else', () => {
    const served = new Set([...routes, ...jobRoutes].map((r) => `${r.method} ${toOpenApi(r.path)}`));
    served.add('GET /openapi.json');
    const documented = new Set(operations().map(([m, p]) => `${m} ${p}`));
    assert.deepEqual([...served].filter((x) => !documented.has(x)), [], 'routes missing from the document');
    assert.deepEqual([...documented].filter((x) => !served.has(x)), [], 'documented operations no handler serves');
  });

  it('is OpenAPI 3.1 with resolvable references and path parameters declared', () => {
    assert.equal(openApiDocument.openapi, '3.1.0');
    const text = JSON.stringify(openApiDocument);
    for (const m of text.matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)) {
      assert.ok(m[1]! in openApiDocument.components.schemas, `unresolved $ref ${m[1]}`);
    }
    for (const [p, item] of Object.entries(paths)) {
      const declared = ((item.parameters as Array<{ name: string; in: string }> | undefined) ?? []).filter((x) => x.in === 'path').map((x) => x.name);
      const inPath = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      assert.deepEqual(declared.sort(), inPath.sort(), `path parameters of ${p}`);
    }
  });

  describe('against a real worker', () => {
    let w: WorkerHandle;
    const name = uniqueName('openapi');
    before(async () => {
      await requireStack('kafka');
      w = await startWorker();
      const r = await w.request('POST', '/connectors', {
        name,
        config: { 'connector.class': 'DatagenSource', 'kafka.topic': name, quickstart: 'users', 'max.interval': '200' },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      await w.waitForRunning(name);
    });
    after(async () => w?.stop());

    it('serves the document at /openapi.json', async () => {
      const r = await w.request('GET', '/openapi.json');
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, JSON.parse(JSON.stringify(openApiDocument)));
    });

    it('answers every documented operation with something other than the 404 fallback', async () => {
      const values: Record<string, string> = { connector: name, task: '0', plugin: 'DatagenSource', logger: 'worker', id: 'no-such-job' };
      const bodies: Record<string, unknown> = {
        'POST /connectors': { name: `${name}-2`, config: { 'connector.class': 'DatagenSource', 'kafka.topic': name, quickstart: 'users' }, initial_state: 'STOPPED' },
        'PUT /connectors/{connector}/config': { 'connector.class': 'DatagenSource', 'kafka.topic': name, quickstart: 'users', 'max.interval': '200' },
        'PATCH /connectors/{connector}/config': { 'max.interval': '300' },
        'PATCH /connectors/{connector}/offsets': { offsets: [{ partition: { task: 0 }, offset: null }] },
        'PUT /connector-plugins/{plugin}/config/validate': { 'connector.class': 'DatagenSource' },
        'PUT /admin/loggers/{logger}': { level: 'INFO' },
        'POST /connectors/{connector}/snapshots': { 'data-collections': ['public.t'], type: 'incremental' },
      };
      // Deleting the connector goes last so every other operation sees it.
      const ops = operations().sort(([m1], [m2]) => Number(m1 === 'DELETE') - Number(m2 === 'DELETE'));
      const seen: string[] = [];
      for (const [method, template] of ops) {
        const path = template.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(values[k]!));
        const r = await w.request(method, path, bodies[`${method} ${template}`]);
        const fallback = r.status === 404 && typeof r.body?.message === 'string' && r.body.message.startsWith('HTTP 404 Not Found');
        assert.ok(!fallback, `${method} ${path} fell through to the 404 fallback`);
        const documented = Object.keys((paths[template]![method.toLowerCase()] as { responses: Record<string, unknown> }).responses);
        assert.ok(documented.includes(String(r.status)), `${method} ${path} answered ${r.status}, documented: ${documented.join(', ')} (${JSON.stringify(r.body)})`);
        seen.push(`${method} ${template}`);
      }
      assert.equal(seen.length, operations().length);
    });
  });
});
