import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ConfigError, Schemas, LogicalNames, type SinkRecord } from '@ferry/core';
import { ElasticsearchSink, ElasticsearchSinkConfig } from '@ferry/connectors/elasticsearch';
import { DocumentBuilder } from '../../src/elasticsearch/document.js';
import { classifyItem } from '../../src/elasticsearch/bulk-writer.js';
import { OffsetTracker } from '../../src/elasticsearch/offset-tracker.js';

const base = { 'connection.url': 'http://127.0.0.1:9200', topics: 'orders' };

function errorsOf(raw: Record<string, string>): Record<string, string[]> {
  return ElasticsearchSinkConfig.validate(raw).errors;
}

describe('ElasticsearchSink config', () => {
  it('applies the documented defaults', () => {
    const cfg = ElasticsearchSinkConfig.parse(base);
    assert.equal(cfg['batch.size'], 2000);
    assert.equal(cfg['max.in.flight.requests'], 5);
    assert.equal(cfg['max.retries'], 5);
    assert.equal(cfg['retry.backoff.ms'], 100);
    assert.equal(cfg['write.method'], 'insert');
    assert.equal(cfg['behavior.on.null.values'], 'fail');
    assert.equal(cfg['key.ignore'], false);
    assert.deepEqual(cfg['connection.url'], ['http://127.0.0.1:9200']);
    assert.deepEqual(ElasticsearchSinkConfig.secretKeys().sort(), ['connection.api.key', 'connection.password']);
  });

  it('rejects invalid configs naming the field', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ topics: 'a' }, 'connection.url'],
      [{ ...base, 'connection.url': 'ftp://x:1' }, 'connection.url'],
      [{ ...base, 'connection.url': 'not a url' }, 'connection.url'],
      [{ ...base, 'connection.username': 'elastic' }, 'connection.password'],
      [{ ...base, 'connection.password': 'x' }, 'connection.username'],
      [{ ...base, 'connection.api.key': 'k', 'connection.username': 'u', 'connection.password': 'p' }, 'connection.api.key'],
      [{ ...base, 'topics.regex': 'a.*' }, 'topics.regex'],
      [{ ...base, topics: '', 'topics.regex': '(' }, 'topics.regex'],
      [{ ...base, 'write.method': 'merge' }, 'write.method'],
      [{ ...base, 'behavior.on.null.values': 'drop' }, 'behavior.on.null.values'],
      [{ ...base, 'behavior.on.malformed.documents': 'explode' }, 'behavior.on.malformed.documents'],
      [{ ...base, 'batch.size': '0' }, 'batch.size'],
      [{ ...base, 'batch.size': 'many' }, 'batch.size'],
      [{ ...base, 'max.in.flight.requests': '0' }, 'max.in.flight.requests'],
      [{ ...base, 'linger.ms': '-1' }, 'linger.ms'],
      [{ ...base, 'index.name.format': 'logs/${topic}' }, 'index.name.format'],
      [{ ...base, 'index.name.format': '_${topic}' }, 'index.name.format'],
      [{ ...base, 'key.ignore': 'true', 'behavior.on.null.values': 'delete' }, 'behavior.on.null.values'],
      [{ ...base, 'data.stream.type': 'logs' }, 'data.stream.dataset'],
      [{ ...base, 'data.stream.dataset': 'app' }, 'data.stream.type'],
      [{ ...base, 'data.stream.type': 'logs', 'data.stream.dataset': 'my-app' }, 'data.stream.dataset'],
      [{ ...base, 'data.stream.type': 'logs', 'data.stream.dataset': 'app', 'write.method': 'upsert' }, 'write.method'],
      [{ ...base, 'data.stream.type': 'logs', 'data.stream.dataset': 'app', 'behavior.on.null.values': 'delete' }, 'behavior.on.null.values'],
      [{ ...base, 'data.stream.type': 'events', 'data.stream.dataset': 'app' }, 'data.stream.type'],
    ];
    for (const [raw, fieldName] of cases) {
      const errs = errorsOf(raw);
      assert.ok(errs[fieldName]?.length, `${JSON.stringify(raw)} should be rejected on ${fieldName}, got ${JSON.stringify(errs)}`);
      assert.throws(() => ElasticsearchSinkConfig.parse(raw), (e: unknown) => e instanceof ConfigError && fieldName in e.fieldErrors);
    }
  });

  it('accepts case-insensitive enums and several URLs', () => {
    const cfg = ElasticsearchSinkConfig.parse({ ...base, 'connection.url': 'http://a:9200, http://b:9200', 'write.method': 'UPSERT' });
    assert.deepEqual(cfg['connection.url'], ['http://a:9200', 'http://b:9200']);
    assert.equal(cfg['write.method'], 'upsert');
  });

  it('validate() names connection.url when nothing listens there', async () => {
    const port = await closedPort();
    const errs = await (await ElasticsearchSink.create()).validate!({ ...base, 'connection.url': `http://127.0.0.1:${port}` });
    assert.ok(errs['connection.url']?.[0]?.includes('cannot connect'), JSON.stringify(errs));
  });

  it('validate() returns static errors first', async () => {
    const errs = await (await ElasticsearchSink.create()).validate!({ topics: 'a', 'batch.size': '-5' });
    assert.ok(errs['connection.url'] && errs['batch.size'], JSON.stringify(errs));
  });
});

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const rec = (over: Partial<SinkRecord>): SinkRecord => ({ topic: 'Orders', kafkaPartition: 2, kafkaOffset: 7, key: null, value: {}, ...over });

describe('ElasticsearchSink documents', () => {
  it('builds index actions with topic+partition+offset ids and a lower-cased index', () => {
    const b = new DocumentBuilder(ElasticsearchSinkConfig.parse({ ...base, 'key.ignore': 'true' }));
    const a = b.build(rec({ value: { a: 1 } }))!;
    assert.equal(a.lines, '{"index":{"_index":"orders","_id":"Orders+2+7"}}\n{"a":1}\n');
  });

  it('uses the key as id, applies index.name.format and builds upserts', () => {
    const b = new DocumentBuilder(ElasticsearchSinkConfig.parse({ ...base, 'index.name.format': 'sink-${topic}', 'write.method': 'upsert' }));
    const a = b.build(rec({ key: { id: 42 }, value: { a: 1 } }))!;
    assert.equal(a.lines, '{"update":{"_index":"sink-orders","_id":"42","retry_on_conflict":3}}\n{"doc":{"a":1},"doc_as_upsert":true}\n');
  });

  it('converts logical types, bytes, bigints and maps', () => {
    const b = new DocumentBuilder(ElasticsearchSinkConfig.parse({ ...base, 'key.ignore': 'true' }));
    const schema = Schemas.struct([
      ['ts', Schemas.timestamp()],
      ['day', Schemas.date()],
      ['price', { type: 'bytes', name: LogicalNames.Decimal, parameters: { scale: '2' } }],
      ['raw', { type: 'bytes' }],
      ['big', { type: 'int64' }],
    ]);
    const value = {
      ts: new Date('2024-05-06T07:08:09.010Z'),
      day: new Date('2024-05-06T00:00:00Z'),
      price: '12.30',
      raw: Buffer.from('hi'),
      big: 12345678901234567890n,
    };
    const a = b.build(rec({ value, valueSchema: schema }))!;
    const source = a.lines.split('\n')[1]!;
    assert.equal(source, '{"ts":"2024-05-06T07:08:09.010Z","day":"2024-05-06","price":12.3,"raw":"aGk=","big":12345678901234567890}');
    const m = b.build(rec({ value: { m: new Map([['x', 1]]), when: new Date(0) } }))!;
    assert.equal(m.lines.split('\n')[1], '{"m":{"x":1},"when":"1970-01-01T00:00:00.000Z"}');
    assert.equal(value.raw instanceof Buffer, true, 'the record value is not mutated');
  });

  it('parses JSON string values and rejects values that are not objects', () => {
    const b = new DocumentBuilder(ElasticsearchSinkConfig.parse({ ...base, 'key.ignore': 'true' }));
    assert.equal(b.build(rec({ value: '{"a":2}' }))!.lines.split('\n')[1], '{"a":2}');
    for (const value of [42, 'plain text', [1, 2], '[1]']) {
      assert.throws(() => b.build(rec({ value })), (e: Error) => (e as { code?: string }).code === 'DATA_ERROR' && e.message.includes('Orders/2@7'));
    }
  });

  it('applies behavior.on.null.values', () => {
    const mk = (v: string) => new DocumentBuilder(ElasticsearchSinkConfig.parse({ ...base, 'behavior.on.null.values': v }));
    assert.equal(mk('ignore').build(rec({ key: 'k', value: null })), null);
    assert.equal(mk('delete').build(rec({ key: 'k', value: null }))!.lines, '{"delete":{"_index":"orders","_id":"k"}}\n');
    assert.throws(() => mk('fail').build(rec({ key: 'k', value: null })), /behavior.on.null.values=fail/);
    assert.throws(() => mk('ignore').build(rec({ key: null, value: { a: 1 } })), /null key/);
  });

  it('adds @timestamp for data streams and uses create with offset ids', () => {
    const b = new DocumentBuilder(
      ElasticsearchSinkConfig.parse({ ...base, 'data.stream.type': 'logs', 'data.stream.dataset': 'app', 'data.stream.timestamp.field': 'at' }),
    );
    const a = b.build(rec({ key: 'k', value: { at: '2024-01-01T00:00:00Z', x: 1 } }))!;
    assert.equal(a.lines, '{"create":{"_index":"logs-app-orders","_id":"Orders+2+7"}}\n{"at":"2024-01-01T00:00:00Z","x":1,"@timestamp":"2024-01-01T00:00:00Z"}\n');
    const c = b.build(rec({ value: { x: 1 }, timestamp: 0 }))!;
    assert.match(c.lines, /"@timestamp":"1970-01-01T00:00:00.000Z"/);
  });
});

describe('ElasticsearchSink bulk item classification', () => {
  const action = { create: false, isDelete: false } as never;
  it('tells retriable failures from document errors', () => {
    assert.equal(classifyItem({ status: 201 }, action), 'ok');
    assert.equal(classifyItem({ status: 429, errorType: 'es_rejected_execution_exception' }, action), 'retry');
    assert.equal(classifyItem({ status: 503, errorType: 'unavailable_shards_exception' }, action), 'retry');
    assert.equal(classifyItem({ status: 400, errorType: 'document_parsing_exception' }, action), 'malformed');
    assert.equal(classifyItem({ status: 400, errorType: 'mapper_parsing_exception' }, action), 'malformed');
    assert.equal(classifyItem({ status: 403, errorType: 'security_exception' }, action), 'fatal');
    assert.equal(classifyItem({ status: 404, errorType: 'index_not_found_exception' }, action), 'fatal');
    assert.equal(classifyItem({ status: 409, errorType: 'version_conflict_engine_exception' }, { create: true, isDelete: false } as never), 'ok');
    assert.equal(classifyItem({ status: 404 }, { create: false, isDelete: true } as never), 'ok');
  });
});

describe('ElasticsearchSink offset tracking', () => {
  it('never returns an offset past an unacknowledged record', () => {
    const t = new OffsetTracker();
    const tp = { topic: 't', partition: 0 };
    const s = [0, 1, 2, 3].map((o) => t.accept(tp, o));
    assert.deepEqual(t.safeOffsets([{ ...tp, offset: 4 }]), [{ ...tp, offset: 0 }]);
    s[1]!.done = true;
    s[2]!.done = true;
    assert.deepEqual(t.safeOffsets([{ ...tp, offset: 4 }]), [{ ...tp, offset: 0 }]);
    s[0]!.done = true;
    assert.deepEqual(t.safeOffsets([{ ...tp, offset: 4 }]), [{ ...tp, offset: 3 }]);
    s[3]!.done = true;
    assert.deepEqual(t.safeOffsets([{ ...tp, offset: 4 }]), [{ ...tp, offset: 4 }]);
    // Partitions nothing was accepted from are left out; a redelivery is recognised.
    assert.deepEqual(t.safeOffsets([{ topic: 't', partition: 1, offset: 9 }]), []);
    assert.equal(t.seen(tp, 3), true);
    assert.equal(t.seen(tp, 4), false);
  });
});
