import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createBulkClient, detectServer, ElasticsearchSinkConfig, validateAgainstServer } from '@ferry/connectors/elasticsearch';
import { blackHole } from '../black-hole.js';
import { ES_URL } from './helpers.js';

/** A request timeout far above every bound below: only the connect deadline can end these calls in time. */
const LONG = 120_000;

describe('Elasticsearch connect deadline (connection.timeout.ms)', () => {
  let hole: Awaited<ReturnType<typeof blackHole>>;
  let url: string;
  before(async () => {
    hole = await blackHole();
    url = `http://127.0.0.1:${hole.port}`;
  });
  after(() => hole?.close());

  it('the black hole really never completes a handshake (otherwise this suite would prove nothing)', async () => {
    const { connect } = await import('node:net');
    const s = connect({ port: hole.port, host: '127.0.0.1' });
    s.on('error', () => undefined);
    const outcome = await new Promise<string>((r) => {
      const t = setTimeout(() => r('pending'), 2_000);
      s.once('connect', () => {
        clearTimeout(t);
        r('connected');
      });
    });
    s.destroy();
    assert.equal(outcome, 'pending');
  });

  it('server detection gives up after connection.timeout.ms, naming the option', async () => {
    const started = Date.now();
    await assert.rejects(detectServer({ urls: [url], requestTimeoutMs: LONG, connectTimeoutMs: 500 }), (e: Error & { kind?: string; retriable?: boolean }) => {
      assert.equal(e.kind, 'timeout');
      assert.equal(e.retriable, true);
      assert.match(e.message, /no connection within 500 ms \(connection\.timeout\.ms\)/);
      return true;
    });
    const took = Date.now() - started;
    assert.ok(took < 10_000, `gave up after ${took} ms`);
  });

  it('the Elasticsearch client fails a _bulk whose connect hangs, retriably, long before the request timeout', async () => {
    const client = createBulkClient('elasticsearch', { urls: [url], requestTimeoutMs: LONG, connectTimeoutMs: 500 });
    try {
      const started = Date.now();
      await assert.rejects(client.bulk('{"index":{"_index":"x"}}\n{"a":1}\n'), (e: Error & { retriable?: boolean }) => {
        assert.equal(e.retriable, true, e.message);
        return true;
      });
      const took = Date.now() - started;
      assert.ok(took < 5_000, `gave up after ${took} ms (undici alone waits 10 s)`);
    } finally {
      await client.close();
    }
  });

  it('validation reports the unreachable connection.url in bounded time', async () => {
    const cfg = ElasticsearchSinkConfig.parse({ 'connection.url': url, topics: 't', 'connection.timeout.ms': '500', 'read.timeout.ms': String(LONG) });
    const started = Date.now();
    const errors = await validateAgainstServer(cfg);
    assert.match(errors['connection.url']?.[0] ?? '', /cannot connect: .*connection\.timeout\.ms/);
    assert.ok(Date.now() - started < 10_000);
  });

  it('a reachable server is unaffected by a short connect deadline', async () => {
    const info = await detectServer({ urls: [ES_URL], requestTimeoutMs: 30_000, connectTimeoutMs: 200 });
    assert.equal(info.product, 'elasticsearch');
    const client = createBulkClient('elasticsearch', { urls: [ES_URL], requestTimeoutMs: 30_000, connectTimeoutMs: 200 });
    try {
      const r = await client.request<{ cluster_name?: string }>('GET', '/');
      assert.ok(r.cluster_name);
    } finally {
      await client.close();
    }
  });
});
