/**
 * Abuse suite: 1,000 generated malformed requests against every route of the
 * REST API. No 5xx (Kafka Connect answers 500 for several client mistakes;
 * this worker answers 4xx), the worker stays up and its memory stays bounded.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { routes } from '../packages/worker/src/rest/handlers.js';
import { requireStack, startWorker, type WorkerHandle } from './harness/index.js';

/** A small deterministic generator (mulberry32): the same 1,000 requests on every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]! };
}

interface Abuse {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  kind: string;
  error?: string;
}

const NAMES = [
  'ok-name', 'ünïcödé-名前-🚀', '%2F', 'a%2Fb', '%00', 'a%0Ab', '..', '%2E%2E', '%25', '%E0%A4%A', '%FF%FE', 'a%20b', '%20lead',
  'x'.repeat(5000), encodeURIComponent('\u202e\u200b'), 'con:nect', '~!$&\'()*+,;=', encodeURIComponent('<script>'), '0', '-1', '99999999999999999999',
];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'PROPFIND', 'LOCK', 'SEARCH', 'PURGE', 'QUERY'];

function deep(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

function bodies(r: ReturnType<typeof rng>): Array<{ kind: string; body: string | Buffer }> {
  const n = Math.floor(r.next() * 1e9);
  return [
    { kind: 'truncated json', body: '{"name": "x", "config": {' },
    { kind: 'not json', body: 'name=x&config=y' },
    { kind: 'binary', body: Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37 + n) & 0xff)) },
    { kind: 'array', body: '[1,2,3]' },
    { kind: 'string', body: '"just a string"' },
    { kind: 'number', body: '12345' },
    { kind: 'null', body: 'null' },
    { kind: 'true', body: 'true' },
    { kind: 'empty', body: '' },
    { kind: 'wrong types', body: JSON.stringify({ name: 42, config: 'nope', initial_state: { a: 1 }, offsets: 'x', level: ['DEBUG'] }) },
    { kind: 'config with objects', body: JSON.stringify({ name: `n${n}`, config: { 'connector.class': { x: 1 }, 'tasks.max': [1, 2] } }) },
    { kind: 'config of wrong scalars', body: JSON.stringify({ name: `n${n}`, config: { 'connector.class': 'DatagenSource', 'tasks.max': -5, 'kafka.topic': true, quickstart: 1e308 } }) },
    { kind: 'tasks.max huge', body: JSON.stringify({ name: `huge${n}`, config: { 'connector.class': 'DatagenSource', 'kafka.topic': 'x', 'tasks.max': '100000' } }) },
    { kind: 'deeply nested arrays', body: deep(20000, '[', ']') },
    { kind: 'deeply nested objects', body: deep(20000, '{"a":', '}') },
    { kind: 'nested config', body: JSON.stringify({ name: `d${n}`, config: JSON.parse(deep(500, '{"a":', '}')) }) },
    { kind: 'many keys', body: JSON.stringify({ name: `k${n}`, config: Object.fromEntries(Array.from({ length: 20000 }, (_, i) => [`key.${i}`, 'v'])) }) },
    { kind: 'long value', body: JSON.stringify({ name: `l${n}`, config: { 'connector.class': 'DatagenSource', 'kafka.topic': 't'.repeat(2_000_000) } }) },
    { kind: 'over the body limit', body: Buffer.alloc(11 * 1024 * 1024, 0x61) },
    { kind: 'unicode keys', body: JSON.stringify({ 'näme': '名前', config: { '🚀': '\u0000\ud800' } }) },
    { kind: 'lone surrogate', body: '{"name": "\\ud800", "config": {"connector.class": "\\udfff"}}' },
    { kind: 'offsets garbage', body: JSON.stringify({ offsets: [null, 1, 'x', { partition: 'p', offset: [] }, { partition: { a: { b: 1 } }, offset: { position: 'ten' } }] }) },
    { kind: 'duplicate keys', body: '{"name":"a","name":"b","config":{"x":"1","x":{"y":2}}}' },
    { kind: 'proto keys', body: '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "config": {"__proto__": {"x": 1}}}' },
    { kind: 'log level', body: JSON.stringify({ level: r.pick(['DEBUG', 'debug', 'NOPE', '', 'x'.repeat(10000)]) }) },
  ];
}

function generate(count: number): Abuse[] {
  const r = rng(0xfe77e);
  const out: Abuse[] = [];
  for (let i = 0; i < count; i++) {
    const route = r.pick(routes);
    const name = r.pick(NAMES);
    let path = route.path
      .replace(':connector', name)
      .replace(':task', r.pick(['0', '-1', 'x', '1e3', '99999999999999999999', '%00']))
      .replace(':plugin', r.pick(['DatagenSource', 'FileStreamSink', name]))
      .replace(':logger', r.pick(['root', 'herder', name, `made.up.${i}`]));
    if (r.next() < 0.3) path += r.pick(['?expand=status&expand=info&expand=%00', '?includeTasks=maybe&onlyFailed[]=1', '?scope=cluster&scope=x', '?a[b][c][d][e][f][g]=1', '?' + 'q=1&'.repeat(2000), '?connectorsOnly=%FF']);
    // raw non-ASCII cannot go on the request line: percent-encode it (the server decodes it back)
    path = path.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
    const method = r.next() < 0.7 ? route.method : r.pick(METHODS);
    const headers: Record<string, string> = { 'content-type': r.pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', '']) };
    const h = r.next();
    let kind = '';
    if (h < 0.08) {
      headers['x-long'] = 'h'.repeat(Math.floor(9000 + r.next() * 30000));
      kind = 'long header ';
    } else if (h < 0.12) {
      for (let j = 0; j < 150; j++) headers[`x-many-${j}`] = String(j);
      kind = 'many headers ';
    } else if (h < 0.15) {
      headers.accept = 'application/xml';
      headers['accept-charset'] = 'utf-7';
    }
    const b = method === 'GET' || method === 'HEAD' ? { kind: 'no body', body: undefined } : r.pick(bodies(r));
    out.push({ method, path, headers, body: b.body, kind: `${kind}${b.kind}` });
  }
  return out;
}

/** Sends one request with node:http (any method, any header, raw bytes); resolves with the status (0 when the server reset the connection). */
function send(port: number, a: Abuse): Promise<number> {
  a.error = undefined;
  // Node's client frames DELETE/OPTIONS bodies only with an explicit length
  if (a.body !== undefined) a.headers['content-length'] = String(Buffer.byteLength(a.body));
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: a.method, path: a.path, headers: a.headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.on('error', (err) => {
      a.error = (err as Error & { code?: string }).code ?? err.message;
      resolve(0);
    });
    if (a.body !== undefined) req.end(a.body);
    else req.end();
  });
}

async function rssBytes(w: WorkerHandle): Promise<number> {
  const r = await fetch(`${w.url}/metrics`);
  const m = /^ferry_process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(await r.text());
  assert.ok(m, 'ferry_process_resident_memory_bytes in /metrics');
  return Number(m[1]);
}

describe('REST abuse', () => {
  let w: WorkerHandle;
  before(async () => {
    await requireStack('kafka');
    w = await startWorker({ workerConfig: { 'tasks.max.per.worker': 8 } });
  });
  after(async () => w?.stop());

  it('1,000 malformed requests against every route: no 5xx, the worker stays up, RSS bounded', async () => {
    const all = generate(1000);
    assert.deepEqual(new Set(all.map((a) => a.path.split('?')[0]!.split('/')[1])).size > 1, true);
    const covered = new Set<string>();
    const rssBefore = await rssBytes(w);
    const fiveXX: string[] = [];
    const resets: string[] = [];
    const counts = new Map<number, number>();
    let peak = rssBefore;
    for (let i = 0; i < all.length; i += 8) {
      const slice = all.slice(i, i + 8);
      const statuses = await Promise.all(slice.map((a) => send(w.port, a)));
      statuses.forEach((s, j) => {
        const a = slice[j]!;
        counts.set(s, (counts.get(s) ?? 0) + 1);
        covered.add(a.method + ' ' + a.path.split('?')[0]!.split('/').slice(0, 2).join('/'));
        if (s >= 500) fiveXX.push(`${s} ${a.method} ${a.path.slice(0, 120)} [${a.kind}]`);
        // A reset is acceptable only where the server refuses before reading the request: headers too
        // large (Node's parser answers 431 and closes) or a body over the limit (413, then the server
        // closes while the client may still be sending: EPIPE/ECONNRESET on the client's side).
        // The same holds for a large body (2 MB) sent to a route that answers without reading it (an
        // unknown method or path, a route that takes no body), with or without odd headers before it
        // ('many headers long value'): the answer and close can beat the upload.
        const refusedEarly =
          a.kind.startsWith('long header') || a.kind.endsWith('over the body limit') || (a.kind.endsWith('long value') && /EPIPE|ECONNRESET/.test(String(a.error)));
        if (s === 0 && !refusedEarly) resets.push(`${a.method} ${a.path.slice(0, 120)} [${a.kind}] ${a.error}`);
      });
      if (i % 200 === 0) {
        const health = await fetch(`${w.url}/health`);
        assert.equal(health.status, 200, `worker healthy after ${i} requests`);
        peak = Math.max(peak, await rssBytes(w));
      }
    }
    const rssAfter = await rssBytes(w);
    peak = Math.max(peak, rssAfter);
    console.log(
      `abuse: ${all.length} requests, statuses ${JSON.stringify(Object.fromEntries([...counts].sort((a, b) => a[0] - b[0])))}, ` +
        `RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(rssAfter / 2 ** 20).toFixed(0)} MiB (peak ${(peak / 2 ** 20).toFixed(0)} MiB)`,
    );
    assert.deepEqual(fiveXX, [], 'no 5xx');
    assert.deepEqual(resets, [], 'no connection dropped without an answer');
    assert.equal((await fetch(`${w.url}/health`)).status, 200, 'the worker is up');
    assert.ok(peak < 1024 * 2 ** 20, `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB below 1 GiB`);
    assert.ok(rssAfter - rssBefore < 300 * 2 ** 20, `RSS grew ${((rssAfter - rssBefore) / 2 ** 20).toFixed(0)} MiB`);
    // the connectors the abuse managed to create stay within the task limit
    const names = (await w.request('GET', '/connectors?expand=status')).body as Record<string, { status: { tasks: unknown[] } }>;
    const tasks = Object.values(names).reduce((n, c) => n + c.status.tasks.length, 0);
    assert.ok(tasks <= 8, `${tasks} tasks`);
  });
});
