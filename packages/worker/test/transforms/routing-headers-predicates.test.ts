import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, Schemas } from '@ferry/core';
import { order, orderSchema, predicate, run, sinkRecord, sourceRecord, transform } from './helpers.js';

describe('RegexRouter', () => {
  it('rewrites matching topics with Java-style group references', () => {
    const t = transform('org.apache.kafka.connect.transforms.RegexRouter', { regex: '(\\w+)\\.(\\w+)\\.(\\w+)', replacement: '$3_$2' });
    assert.equal(run(t, sourceRecord({ topic: 'db.public.orders' }))!.topic, 'orders_public');
    const same = sourceRecord({ topic: 'not-matching' });
    assert.equal(t.apply(same), same);
  });

  it('matches the whole topic, then replaces the first match as Java does', () => {
    const t = transform('RegexRouter', { regex: 'cdc-.*', replacement: 'all' });
    assert.equal(run(t, sourceRecord({ topic: 'x-cdc-orders' }))!.topic, 'x-cdc-orders');
    assert.equal(run(t, sourceRecord({ topic: 'cdc-orders' }))!.topic, 'all');
    const named = transform('RegexRouter', { regex: '(?<db>[a-z]+)-(?<tbl>[a-z]+)', replacement: '${tbl}@${db}\\$' });
    assert.equal(run(named, sourceRecord({ topic: 'shop-orders' }))!.topic, 'orders@shop$');
    const ci = transform('RegexRouter', { regex: '(?i)ORDERS', replacement: 'o' });
    assert.equal(run(ci, sourceRecord({ topic: 'orders' }))!.topic, 'o');
    const twoDigits = transform('RegexRouter', { regex: '(a)(b)', replacement: '$12' }); // group 1 then "2"
    assert.equal(run(twoDigits, sourceRecord({ topic: 'ab' }))!.topic, 'a2');
  });

  it('rejects an invalid regex or replacement, naming the field', () => {
    assert.throws(() => transform('RegexRouter', { regex: '(', replacement: 'x' }), (e: unknown) => e instanceof ConfigError && 'regex' in e.fieldErrors);
    assert.throws(() => transform('RegexRouter', { regex: '(a)', replacement: '$2' }), (e: unknown) => e instanceof ConfigError && 'replacement' in e.fieldErrors);
    assert.throws(() => transform('RegexRouter', { regex: 'a' }), (e: unknown) => e instanceof ConfigError && 'replacement' in e.fieldErrors);
  });
});

describe('Filter', () => {
  it('drops every record', () => {
    assert.equal(run(transform('org.apache.kafka.connect.transforms.Filter'), sinkRecord({ value: 1 })), null);
  });
});

describe('HeaderFrom', () => {
  it('copies struct fields to headers with their schemas', () => {
    const t = transform('HeaderFrom$Value', { fields: 'id,name', headers: 'h_id,h_name', operation: 'copy' });
    const out = run(t, sinkRecord({ valueSchema: orderSchema, value: order, headers: [{ key: 'old', value: 'o' }] }))!;
    assert.equal(out.value, order);
    assert.equal(out.valueSchema, orderSchema);
    assert.deepEqual(out.headers, [
      { key: 'old', value: 'o' },
      { key: 'h_id', value: 7, schema: { type: 'int32', optional: false } },
      { key: 'h_name', value: 'widget', schema: { type: 'string', optional: true } },
    ]);
  });

  it('moves fields, removing them from the value and its schema', () => {
    const t = transform('HeaderFrom$Value', { fields: 'name', headers: 'name', operation: 'move' });
    const out = run(t, sinkRecord({ valueSchema: orderSchema, value: order }))!;
    assert.deepEqual(out.value, { id: 7, price: 9.5 });
    assert.deepEqual(out.valueSchema!.fields!.map((f) => f.field), ['id', 'price']);
    assert.deepEqual(out.headers, [{ key: 'name', value: 'widget', schema: { type: 'string', optional: true } }]);
  });

  it('works schemaless and on keys', () => {
    const t = transform('HeaderFrom$Key', { fields: 'tenant', headers: 'x-tenant', operation: 'move' });
    const out = run(t, sinkRecord({ key: { id: 1, tenant: 'acme' } }))!;
    assert.deepEqual(out.key, { id: 1 });
    assert.deepEqual(out.headers, [{ key: 'x-tenant', value: 'acme', schema: null }]);
  });

  it('requires as many headers as fields and a valid operation', () => {
    assert.throws(
      () => transform('HeaderFrom$Value', { fields: 'a,b', headers: 'a', operation: 'copy' }),
      (e: unknown) => e instanceof ConfigError && 'headers' in e.fieldErrors,
    );
    assert.throws(
      () => transform('HeaderFrom$Value', { fields: 'a', headers: 'a', operation: 'steal' }),
      (e: unknown) => e instanceof ConfigError && 'operation' in e.fieldErrors,
    );
  });
});

describe('InsertHeader', () => {
  it('adds a header with a literal value, inferring its type', () => {
    const add = (literal: string) => run(transform('InsertHeader', { header: 'h', 'value.literal': literal }), sinkRecord({ headers: [{ key: 'h', value: 'a' }] }))!.headers;
    assert.deepEqual(add('hello'), [
      { key: 'h', value: 'a' },
      { key: 'h', value: 'hello', schema: Schemas.string() },
    ]);
    assert.deepEqual(add('42')![1], { key: 'h', value: 42, schema: { type: 'int8', optional: false } });
    assert.deepEqual(add('true')![1], { key: 'h', value: true, schema: Schemas.boolean() });
    assert.deepEqual(add('2.5')![1], { key: 'h', value: 2.5, schema: Schemas.float64() });
    const none = run(transform('InsertHeader', { header: 'h', 'value.literal': 'x' }), sinkRecord())!;
    assert.deepEqual(none.headers, [{ key: 'h', value: 'x', schema: Schemas.string() }]);
  });

  it('requires the header name', () => {
    assert.throws(() => transform('InsertHeader', { 'value.literal': 'x' }), (e: unknown) => e instanceof ConfigError && 'header' in e.fieldErrors);
  });
});

describe('DropHeaders', () => {
  it('removes every header with a listed name', () => {
    const t = transform('org.apache.kafka.connect.transforms.DropHeaders', { headers: 'a,b' });
    const out = run(t, sinkRecord({ headers: [{ key: 'a', value: 1 }, { key: 'c', value: 2 }, { key: 'b', value: 3 }, { key: 'a', value: 4 }] }))!;
    assert.deepEqual(out.headers, [{ key: 'c', value: 2 }]);
    const untouched = sinkRecord({ headers: [{ key: 'c', value: 2 }] });
    assert.equal(t.apply(untouched), untouched);
  });
});

describe('predicates', () => {
  it('TopicNameMatches matches the whole topic name', () => {
    const p = predicate('org.apache.kafka.connect.transforms.predicates.TopicNameMatches', { pattern: 'orders|users-.*' });
    assert.equal(p.test(sinkRecord({ topic: 'orders' })), true);
    assert.equal(p.test(sinkRecord({ topic: 'users-eu' })), true);
    assert.equal(p.test(sinkRecord({ topic: 'orders-archive' })), false);
    assert.throws(() => predicate('TopicNameMatches', { pattern: '[' }), (e: unknown) => e instanceof ConfigError && 'pattern' in e.fieldErrors);
    assert.throws(() => predicate('TopicNameMatches', {}), (e: unknown) => e instanceof ConfigError && 'pattern' in e.fieldErrors);
  });

  it('HasHeaderKey looks for a header name', () => {
    const p = predicate('HasHeaderKey', { name: 'trace' });
    assert.equal(p.test(sinkRecord({ headers: [{ key: 'x', value: 1 }, { key: 'trace', value: null }] })), true);
    assert.equal(p.test(sinkRecord({ headers: [{ key: 'x', value: 1 }] })), false);
    assert.equal(p.test(sinkRecord()), false);
  });

  it('RecordIsTombstone is true for null values', () => {
    const p = predicate('org.apache.kafka.connect.transforms.predicates.RecordIsTombstone');
    assert.equal(p.test(sinkRecord({ value: null })), true);
    assert.equal(p.test(sinkRecord({ value: {} })), false);
  });
});
