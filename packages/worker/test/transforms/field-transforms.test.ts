import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, DataError, LogicalNames, Schemas, type Schema } from '@ferry/core';
import { order, orderSchema, run, sinkRecord, sourceRecord, transform } from './helpers.js';

describe('InsertField', () => {
  const cfg = {
    'topic.field': 'kafka_topic!',
    'partition.field': 'kafka_partition',
    'offset.field': 'kafka_offset?',
    'timestamp.field': 'ts',
    'static.field': 'origin',
    'static.value': 'eu-1',
  };

  it('adds metadata fields to a struct and extends its schema', () => {
    const t = transform('InsertField$Value', cfg);
    const out = run(t, sinkRecord({ valueSchema: orderSchema, value: order }))!;
    assert.deepEqual(out.value, {
      ...order,
      kafka_topic: 'orders',
      kafka_partition: 3,
      kafka_offset: 42,
      ts: new Date(Date.UTC(2024, 0, 31, 12, 30, 0)),
      origin: 'eu-1',
    });
    const s = out.valueSchema!;
    assert.equal(s.name, 'shop.Order');
    assert.equal(s.version, 2);
    assert.deepEqual(
      s.fields!.slice(3).map((f) => [f.field, f.type, f.optional, f.name]),
      [
        ['kafka_topic', 'string', false, undefined],
        ['kafka_partition', 'int32', true, undefined],
        ['kafka_offset', 'int64', true, undefined],
        ['ts', 'int64', true, LogicalNames.Timestamp],
        ['origin', 'string', true, undefined],
      ],
    );
  });

  it('reuses the derived schema for records that share a schema', () => {
    const t = transform('InsertField$Value', { 'topic.field': 't' });
    const a = run(t, sinkRecord({ valueSchema: orderSchema, value: order }))!;
    const b = run(t, sinkRecord({ valueSchema: orderSchema, value: { ...order, id: 8 } }))!;
    assert.equal(a.valueSchema, b.valueSchema);
  });

  it('adds fields to a schemaless map, the timestamp as epoch millis', () => {
    const t = transform('org.apache.kafka.connect.transforms.InsertField$Value', cfg);
    const out = run(t, sinkRecord({ value: { a: 1 } }))!;
    assert.deepEqual(out.value, {
      a: 1,
      kafka_topic: 'orders',
      kafka_partition: 3,
      kafka_offset: 42,
      ts: Date.UTC(2024, 0, 31, 12, 30, 0),
      origin: 'eu-1',
    });
    assert.equal(out.valueSchema, null);
  });

  it('works on the key with $Key', () => {
    const t = transform('InsertField$Key', { 'static.field': 'k', 'static.value': 'v' });
    const out = run(t, sinkRecord({ key: { id: 1 }, value: 'x' }))!;
    assert.deepEqual(out.key, { id: 1, k: 'v' });
    assert.equal(out.value, 'x');
  });

  it('passes tombstones through', () => {
    const t = transform('InsertField$Value', cfg);
    const rec = sinkRecord({ value: null });
    assert.equal(t.apply(rec), rec);
  });

  it('rejects offset insertion on source records and non-map values', () => {
    const t = transform('InsertField$Value', { 'offset.field': 'o' });
    assert.throws(() => run(t, sourceRecord({ value: { a: 1 } })), DataError);
    const t2 = transform('InsertField$Value', { 'topic.field': 't' });
    assert.throws(() => run(t2, sinkRecord({ value: 'a string' })), /Only map objects supported/);
  });
});

describe('ReplaceField', () => {
  it('includes, excludes and renames fields of a struct', () => {
    const t = transform('ReplaceField$Value', { include: 'id,name,price', exclude: 'price', renames: 'id:order_id,name:title' });
    const out = run(t, sinkRecord({ valueSchema: orderSchema, value: order }))!;
    assert.deepEqual(out.value, { order_id: 7, title: 'widget' });
    assert.deepEqual(
      out.valueSchema!.fields!.map((f) => [f.field, f.type, f.optional]),
      [
        ['order_id', 'int32', false],
        ['title', 'string', true],
      ],
    );
    assert.equal(out.valueSchema!.name, 'shop.Order');
  });

  it('works schemaless and accepts the old whitelist/blacklist names', () => {
    const t = transform('ReplaceField$Value', { blacklist: 'secret', renames: 'a:b' });
    assert.deepEqual(run(t, sinkRecord({ value: { a: 1, secret: 's', c: 3 } }))!.value, { b: 1, c: 3 });
    const w = transform('ReplaceField$Value', { whitelist: 'a' });
    assert.deepEqual(run(w, sinkRecord({ value: { a: 1, c: 3 } }))!.value, { a: 1 });
  });

  it('rejects malformed renames, naming the field', () => {
    assert.throws(
      () => transform('ReplaceField$Value', { renames: 'a:b,broken' }),
      (e: unknown) => e instanceof ConfigError && /Invalid rename mapping: broken/.test(e.fieldErrors.renames[0]),
    );
  });
});

describe('MaskField', () => {
  const schema: Schema = Schemas.struct([
    ['s', Schemas.string()],
    ['i', Schemas.int32()],
    ['l', Schemas.int64()],
    ['d', Schemas.float64()],
    ['b', Schemas.boolean()],
    ['dec', Schemas.decimal(2)],
    ['ts', Schemas.timestamp()],
    ['arr', Schemas.array(Schemas.string())],
    ['m', Schemas.map(Schemas.string(), Schemas.int32())],
    ['keep', Schemas.string()],
  ]);
  const value = { s: 'secret', i: 5, l: 6, d: 1.5, b: true, dec: '12.30', ts: new Date(1e12), arr: ['x'], m: { a: 1 }, keep: 'k' };

  it('masks struct fields with the empty value of their schema type', () => {
    const t = transform('MaskField$Value', { fields: 's,i,l,d,b,dec,ts,arr,m' });
    const out = run(t, sinkRecord({ valueSchema: schema, value }))!;
    assert.deepEqual(out.value, { s: '', i: 0, l: 0, d: 0, b: false, dec: '0', ts: new Date(0), arr: [], m: {}, keep: 'k' });
    assert.equal(out.valueSchema, schema);
  });

  it('masks with a replacement converted to the field type', () => {
    const t = transform('MaskField$Value', { fields: 's,i,d,dec', replacement: '42' });
    const out = run(t, sinkRecord({ valueSchema: schema, value }))!;
    assert.deepEqual(out.value, { ...value, s: '42', i: 42, d: 42, dec: '42' });
  });

  it('masks schemaless values by their runtime type', () => {
    const t = transform('MaskField$Value', { fields: 's,n,b,o,missing' });
    const out = run(t, sinkRecord({ value: { s: 'x', n: 3, b: true, o: { a: 1 } } }))!;
    assert.deepEqual(out.value, { s: '', n: 0, b: false, o: {} });
  });

  it('fails a record when the replacement does not fit the type', () => {
    const t = transform('MaskField$Value', { fields: 'i', replacement: 'abc' });
    assert.throws(() => run(t, sinkRecord({ valueSchema: schema, value })), DataError);
    const t2 = transform('MaskField$Value', { fields: 'b', replacement: 'abc' });
    assert.throws(() => run(t2, sinkRecord({ valueSchema: schema, value })), /Cannot mask value of type boolean/);
  });

  it('requires fields', () => {
    assert.throws(() => transform('MaskField$Value', {}), (e: unknown) => e instanceof ConfigError && 'fields' in e.fieldErrors);
  });
});

describe('ValueToKey', () => {
  it('builds a struct key from value fields', () => {
    const t = transform('org.apache.kafka.connect.transforms.ValueToKey', { fields: 'id,name' });
    const out = run(t, sinkRecord({ key: 'old', valueSchema: orderSchema, value: order }))!;
    assert.deepEqual(out.key, { id: 7, name: 'widget' });
    assert.deepEqual(out.keySchema, {
      type: 'struct',
      optional: false,
      fields: [
        { field: 'id', type: 'int32', optional: false },
        { field: 'name', type: 'string', optional: true },
      ],
    });
    assert.equal(out.value, order);
  });

  it('builds a map key without a schema, and fails on an unknown struct field', () => {
    const t = transform('ValueToKey', { fields: 'id' });
    const out = run(t, sinkRecord({ value: { id: 1, x: 2 } }))!;
    assert.deepEqual(out.key, { id: 1 });
    assert.equal(out.keySchema, null);
    const bad = transform('ValueToKey', { fields: 'nope' });
    assert.throws(() => run(bad, sinkRecord({ valueSchema: orderSchema, value: order })), /Field does not exist: nope/);
  });
});

describe('ExtractField', () => {
  const nested: Schema = Schemas.struct([
    ['id', Schemas.int32()],
    ['customer', Schemas.struct([['address', Schemas.struct([['city', Schemas.string(true)]], { optional: true })]], { optional: true })],
  ]);
  const nestedValue = { id: 1, customer: { address: { city: 'Oslo' } } };

  it('replaces the value with one field and its schema', () => {
    const t = transform('ExtractField$Value', { field: 'name' });
    const out = run(t, sinkRecord({ valueSchema: orderSchema, value: order }))!;
    assert.equal(out.value, 'widget');
    assert.deepEqual(out.valueSchema, { type: 'string', optional: true });
  });

  it('extracts from the key and from schemaless maps', () => {
    const t = transform('ExtractField$Key', { field: 'id' });
    assert.equal(run(t, sinkRecord({ key: { id: 5 } }))!.key, 5);
    assert.equal(run(t, sinkRecord({ key: { other: 5 } }))!.key, null);
  });

  it('reads dotted paths with field.syntax.version=V2 only', () => {
    const v2 = transform('ExtractField$Value', { field: 'customer.address.city', 'field.syntax.version': 'V2' });
    const out = run(v2, sinkRecord({ valueSchema: nested, value: nestedValue }))!;
    assert.equal(out.value, 'Oslo');
    assert.deepEqual(out.valueSchema, { type: 'string', optional: true });
    assert.equal(run(v2, sinkRecord({ value: { customer: { address: { city: 'Rome' } } } }))!.value, 'Rome');
    const quoted = transform('ExtractField$Value', { field: '`a.b`.c', 'field.syntax.version': 'V2' });
    assert.equal(run(quoted, sinkRecord({ value: { 'a.b': { c: 3 } } }))!.value, 3);
    const v1 = transform('ExtractField$Value', { field: 'a.b' });
    assert.equal(run(v1, sinkRecord({ value: { 'a.b': 9, a: { b: 1 } } }))!.value, 9);
  });

  it('fails on a field the schema does not have', () => {
    const t = transform('ExtractField$Value', { field: 'nope' });
    assert.throws(() => run(t, sinkRecord({ valueSchema: orderSchema, value: order })), /Unknown field: nope/);
  });
});

describe('HoistField', () => {
  it('wraps a schemaful value in a single-field struct', () => {
    const t = transform('HoistField$Value', { field: 'line' });
    const out = run(t, sinkRecord({ valueSchema: Schemas.string(), value: 'hello' }))!;
    assert.deepEqual(out.value, { line: 'hello' });
    assert.deepEqual(out.valueSchema, { type: 'struct', optional: false, fields: [{ field: 'line', type: 'string', optional: false }] });
  });

  it('wraps a schemaless key in a map', () => {
    const t = transform('HoistField$Key', { field: 'id' });
    const out = run(t, sinkRecord({ key: 12 }))!;
    assert.deepEqual(out.key, { id: 12 });
    assert.equal(out.keySchema, null);
  });
});

describe('SetSchemaMetadata', () => {
  it('sets name and version of the schema', () => {
    const t = transform('SetSchemaMetadata$Value', { 'schema.name': 'shop.OrderV3', 'schema.version': '3' });
    const out = run(t, sinkRecord({ valueSchema: orderSchema, value: order }))!;
    assert.equal(out.valueSchema!.name, 'shop.OrderV3');
    assert.equal(out.valueSchema!.version, 3);
    assert.deepEqual(out.valueSchema!.fields, orderSchema.fields);
    assert.equal(out.value, order);
  });

  it('needs a schema and at least one option', () => {
    const t = transform('SetSchemaMetadata$Key', { 'schema.name': 'k' });
    assert.throws(() => run(t, sinkRecord({ key: 'x' })), /Schema required/);
    assert.throws(() => transform('SetSchemaMetadata$Value', {}), (e: unknown) => e instanceof ConfigError && 'schema.name' in e.fieldErrors);
    assert.throws(
      () => transform('SetSchemaMetadata$Value', { 'schema.version': 'two' }),
      (e: unknown) => e instanceof ConfigError && /must be/.test(e.fieldErrors['schema.version'][0]),
    );
  });
});

describe('Flatten', () => {
  const schema: Schema = Schemas.struct([
    ['id', Schemas.int32()],
    [
      'customer',
      Schemas.struct(
        [
          ['name', Schemas.string()],
          ['address', Schemas.struct([['city', Schemas.string()], ['zip', Schemas.string(true)]])],
        ],
        { optional: true },
      ),
    ],
    ['tags', Schemas.array(Schemas.string())],
  ]);

  it('flattens nested structs; fields under an optional struct become optional', () => {
    const t = transform('Flatten$Value', { delimiter: '_' });
    const v = { id: 1, customer: { name: 'Ann', address: { city: 'Oslo', zip: null } }, tags: ['a'] };
    const out = run(t, sinkRecord({ valueSchema: schema, value: v }))!;
    assert.deepEqual(out.value, { id: 1, customer_name: 'Ann', customer_address_city: 'Oslo', customer_address_zip: null, tags: ['a'] });
    assert.deepEqual(
      out.valueSchema!.fields!.map((f) => [f.field, f.type, f.optional]),
      [
        ['id', 'int32', false],
        ['customer_name', 'string', true],
        ['customer_address_city', 'string', true],
        ['customer_address_zip', 'string', true],
        ['tags', 'array', false],
      ],
    );
    const nullCustomer = run(t, sinkRecord({ valueSchema: schema, value: { id: 2, customer: null, tags: [] } }))!;
    assert.deepEqual(nullCustomer.value, { id: 2, customer_name: null, customer_address_city: null, customer_address_zip: null, tags: [] });
  });

  it('flattens schemaless maps with the default delimiter', () => {
    const t = transform('Flatten$Value');
    const out = run(t, sinkRecord({ value: { a: { b: { c: 1 }, d: [1, 2] }, e: null } }))!;
    assert.deepEqual(out.value, { 'a.b.c': 1, 'a.d': [1, 2], e: null });
  });

  it('flattens keys', () => {
    const t = transform('Flatten$Key');
    assert.deepEqual(run(t, sinkRecord({ key: { a: { b: 1 } } }))!.key, { 'a.b': 1 });
  });
});
