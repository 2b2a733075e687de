import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Schemas } from '@ferry/core';
import { SchemaCache, compileStructBuilder, copyRecord } from '../../src/transforms/util.js';
import { deepFreeze, orderSchema, order, run, sinkRecord, sourceRecord, transform } from './helpers.js';

describe('record copies', () => {
  it('keep every field of source and sink records, and extra fields the runtime adds', () => {
    const src = deepFreeze({ ...sourceRecord({ key: 'k', value: 1, timestamp: 5 }), originalTopic: 'x' });
    const c = copyRecord(src) as typeof src;
    assert.notEqual(c, src);
    assert.equal(c.originalTopic, 'x');
    assert.deepEqual(c.sourceOffset, { pos: 1 });
    assert.equal(c.key, 'k');
    const sink = deepFreeze(sinkRecord({ timestampType: 'CreateTime', headers: [] }));
    const s = copyRecord(sink);
    assert.equal(s.kafkaOffset, 42);
    assert.equal(s.timestampType, 'CreateTime');
    assert.equal(s.timestamp, sink.timestamp);
    const odd = copyRecord(deepFreeze({ ...sinkRecord(), sourceOffset: { x: 1 }, toString: 'field' })) as Record<string, unknown>;
    assert.deepEqual(odd.sourceOffset, { x: 1 });
    assert.equal(odd.toString, 'field');
  });

  it('work on records without the optional schema fields', () => {
    const t = transform('InsertField$Value', { 'topic.field': 't' });
    const out = run(t, { topic: 'a', key: null, value: { x: 1 } })!;
    assert.deepEqual(out.value, { x: 1, t: 'a' });
    assert.equal(out.valueSchema, null);
    const k = run(transform('HoistField$Key', { field: 'id' }), { topic: 'a', key: 1, value: null })!;
    assert.deepEqual(k.key, { id: 1 });
  });
});

describe('compiled struct builders', () => {
  it('quote any field name safely and keep __proto__ as an own field', () => {
    const names = ['plain', 'with space', 'quote"s', "single'", 'back\\slash', 'new\nline', '\u2028', 'constructor', '__proto__', '${x}'];
    const src: Record<string, unknown> = {};
    names.forEach((n, i) => Object.defineProperty(src, n, { value: i, enumerable: true }));
    const build = compileStructBuilder(names.map((n) => ({ to: n, path: [n] })));
    const out = build(src);
    assert.deepEqual(Object.keys(out), names);
    names.forEach((n, i) => assert.equal(Object.getOwnPropertyDescriptor(out, n)?.value, i, n));
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    const noProto = compileStructBuilder([{ to: 'a"b', path: ['x', 'y'], nullish: true }, { to: 'e', extra: 0 }]);
    assert.deepEqual(noProto({ x: { y: 2 } }, ['v']), { 'a"b': 2, e: 'v' });
    assert.deepEqual(noProto({ x: null }, ['v']), { 'a"b': null, e: 'v' });
  });

  it('build struct values with odd field names through the transforms', () => {
    const schema = Schemas.struct([
      ['__proto__', Schemas.string()],
      ['a"b', Schemas.int32()],
    ]);
    const value: Record<string, unknown> = {};
    Object.defineProperty(value, '__proto__', { value: 'p', enumerable: true });
    value['a"b'] = 1;
    const out = run(transform('ReplaceField$Value', { renames: 'a"b:ab' }), sinkRecord({ valueSchema: schema, value }))!;
    assert.equal(Object.getOwnPropertyDescriptor(out.value, '__proto__')?.value, 'p');
    assert.equal((out.value as Record<string, unknown>).ab, 1);
    assert.equal(Object.getPrototypeOf(out.value), Object.prototype);
  });
});

describe('derived schema cache', () => {
  it('derives once per distinct schema, also when each record carries a fresh but equal schema object', () => {
    let builds = 0;
    const cache = new SchemaCache<number>();
    const derive = () => ++builds;
    for (let i = 0; i < 5; i++) assert.equal(cache.get(JSON.parse(JSON.stringify(orderSchema)), derive), 1);
    assert.equal(cache.get(orderSchema, derive), 1);
    assert.equal(cache.get({ ...orderSchema, name: 'other' }, derive), 2);
    assert.equal(builds, 2);
    assert.equal(cache.get({ type: 'int64', optional: false, default: 2n ** 60n }, derive), 3);
    const nested = JSON.parse(JSON.stringify(orderSchema));
    nested.fields[1].optional = false;
    assert.equal(cache.get(nested, derive), 4);
    assert.equal(cache.get(orderSchema, derive), 1);
    const param = JSON.parse(JSON.stringify(orderSchema));
    param.fields[2].parameters = { scale: '2' };
    assert.equal(cache.get(param, derive), 5);
  });

  it('gives records with equal schemas the same output schema object', () => {
    const t = transform('InsertField$Value', { 'topic.field': 't' });
    const a = run(t, sinkRecord({ valueSchema: JSON.parse(JSON.stringify(orderSchema)), value: order }))!;
    const b = run(t, sinkRecord({ valueSchema: JSON.parse(JSON.stringify(orderSchema)), value: order }))!;
    assert.equal(a.valueSchema, b.valueSchema);
  });
});
