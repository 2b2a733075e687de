/**
 * The bulk writer's retry, ordering and backpressure logic, driven by a
 * scripted client (pure logic: what the real server does is covered by
 * elasticsearch.test.ts). Item-level 429s and 403s cannot be provoked on
 * demand on a real single node.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hasErrorCode, silentLogger } from '@ferry/core';
import { BulkRequestError, type BulkClient, type BulkResult } from '../../src/elasticsearch/bulk-client.js';
import { BulkWriter, type BulkWriterOptions } from '../../src/elasticsearch/bulk-writer.js';
import { ElasticsearchSinkConfig } from '../../src/elasticsearch/config.js';
import { DocumentBuilder } from '../../src/elasticsearch/document.js';
import { OffsetTracker } from '../../src/elasticsearch/offset-tracker.js';
import { record } from './helpers.js';

type Answer = (body: string) => BulkResult | Error;

class ScriptedClient implements BulkClient {
  readonly product = 'elasticsearch' as const;
  readonly bodies: string[] = [];
  constructor(private readonly answer: Answer) {}
  async bulk(ndjson: string): Promise<BulkResult> {
    this.bodies.push(ndjson);
    const a = this.answer(ndjson);
    if (a instanceof Error) throw a;
    return a;
  }
  async request<T>(): Promise<T> {
    return {} as T;
  }
  async close() {}
}

/** Every action accepted (with errors=false the items are not read). */
const ok = (_body: string): BulkResult => ({ errors: false, items: [] });

function setup(answer: Answer, opts: Partial<BulkWriterOptions> = {}) {
  const client = new ScriptedClient(answer);
  const writer = new BulkWriter(
    async () => client,
    {
      batchSize: 100,
      bulkSizeBytes: 1 << 20,
      lingerMs: 0,
      maxInFlight: 2,
      maxBuffered: 1000,
      maxRetries: 2,
      retryBackoffMs: 1,
      orderByDocument: true,
      onMalformed: 'fail',
      ...opts,
    },
    silentLogger,
    undefined,
  );
  const builder = new DocumentBuilder(ElasticsearchSinkConfig.parse({ 'connection.url': 'http://x:1' }));
  const tracker = new OffsetTracker();
  const add = (offset: number, key: string, v: number) => {
    const r = record('t', 0, offset, { v }, key);
    writer.add(builder.build(r)!, tracker.accept({ topic: 't', partition: 0 }, offset));
  };
  return { client, writer, tracker, add };
}

describe('BulkWriter', () => {
  it('retries a refused item together with later actions on the same document, in order', async () => {
    let calls = 0;
    const { client, writer, tracker, add } = setup(() => {
      calls++;
      if (calls === 1)
        return { errors: true, items: [{ status: 429, errorType: 'es_rejected_execution_exception' }, { status: 201 }, { status: 200 }] };
      return { errors: false, items: [] };
    });
    add(0, 'k1', 1);
    add(1, 'k2', 2);
    add(2, 'k1', 3);
    await writer.flush(5_000);
    assert.equal(client.bodies.length, 2);
    const retried = client.bodies[1]!.split('\n').filter(Boolean);
    assert.deepEqual(retried, [
      '{"index":{"_index":"t","_id":"k1"}}',
      '{"v":1}',
      '{"index":{"_index":"t","_id":"k1"}}',
      '{"v":3}',
    ]);
    assert.deepEqual(tracker.safeOffsets([{ topic: 't', partition: 0, offset: 3 }]), [{ topic: 't', partition: 0, offset: 3 }]);
  });

  it('reports a stall after max.retries, keeps retrying, and recovers without losing records', async () => {
    let down = true;
    const { writer, tracker, add } = setup((body) =>
      down ? new BulkRequestError('connection', 'connect ECONNREFUSED 127.0.0.1:9') : ok(body),
    );
    for (let i = 0; i < 10; i++) add(i, `k${i}`, i);
    const stalled = await waitUntil(() => writer.stalled);
    assert.ok(hasErrorCode(stalled, 'NOT_CONNECTED'), String(stalled));
    assert.match(stalled.message, /unreachable after 2 retries.*ECONNREFUSED/);
    assert.deepEqual(tracker.safeOffsets([{ topic: 't', partition: 0, offset: 10 }]), [{ topic: 't', partition: 0, offset: 0 }]);
    down = false;
    await writer.flush(10_000);
    assert.equal(writer.stalled, undefined);
    assert.deepEqual(tracker.safeOffsets([{ topic: 't', partition: 0, offset: 10 }]), [{ topic: 't', partition: 0, offset: 10 }]);
  });

  it('answers 429 with a retriable error once retries are exhausted', async () => {
    const { writer, add } = setup(() => new BulkRequestError('response', 'answered 429', { status: 429 }));
    add(0, 'a', 1);
    const stalled = await waitUntil(() => writer.stalled);
    assert.ok(hasErrorCode(stalled, 'RETRIABLE'));
    await writer.close(100);
  });

  it('fails on an item the cluster forbids (403) rather than dropping it', async () => {
    const { writer, add } = setup(() => ({ errors: true, items: [{ status: 403, errorType: 'security_exception', errorReason: 'no privileges' }] }));
    add(0, 'a', 1);
    await assert.rejects(writer.flush(5_000), /refused record t\/0@0 with 403 security_exception/);
  });

  it('never holds more than max.buffered records', async () => {
    const pending: Array<() => void> = [];
    const client: BulkClient = {
      product: 'elasticsearch',
      bulk: (body) => new Promise((resolve) => pending.push(() => resolve(ok(body)))),
      request: async <T>() => ({}) as T,
      close: async () => {},
    };
    const writer = new BulkWriter(
      async () => client,
      { batchSize: 10, bulkSizeBytes: 1 << 20, lingerMs: 0, maxInFlight: 1, maxBuffered: 25, maxRetries: 1, retryBackoffMs: 1, orderByDocument: false, onMalformed: 'fail' },
      silentLogger,
      undefined,
    );
    const builder = new DocumentBuilder(ElasticsearchSinkConfig.parse({ 'connection.url': 'http://x:1', 'key.ignore': 'true' }));
    const tracker = new OffsetTracker();
    let added = 0;
    const producer = (async () => {
      for (let i = 0; i < 100; i++) {
        await writer.waitForRoom();
        assert.ok(writer.buffered < 25);
        writer.add(builder.build(record('t', 0, i, { i }))!, tracker.accept({ topic: 't', partition: 0 }, i));
        added++;
      }
    })();
    await waitUntil(() => added === 25 || undefined);
    await new Promise((r) => setImmediate(r));
    assert.equal(added, 25, 'the producer waits for room');
    while (added < 100 || writer.buffered > 0) {
      await waitUntil(() => pending.length > 0 || undefined);
      pending.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await producer;
    assert.deepEqual(tracker.safeOffsets([{ topic: 't', partition: 0, offset: 100 }]), [{ topic: 't', partition: 0, offset: 100 }]);
  });
});

async function waitUntil<T>(fn: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
