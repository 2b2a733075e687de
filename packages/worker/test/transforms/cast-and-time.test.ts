import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, DataError, LogicalNames, Schemas, type Schema } from '@ferry/core';
import { compileDateFormat } from '../../src/transforms/index.js';
import { run, sinkRecord, transform } from './helpers.js';

const wholeCast = (type: string, valueSchema: Schema | null, value: unknown) =>
  run(transform('Cast$Value', { spec: type }), sinkRecord({ valueSchema, value }))!;

describe('Cast', () => {
  const schema: Schema = Schemas.struct([
    ['age', Schemas.string()],
    ['score', Schemas.int32(true)],
    ['flag', Schemas.int32()],
    ['price', Schemas.decimal(2)],
    ['at', Schemas.timestamp()],
    ['raw', Schemas.bytes()],
    ['keep', Schemas.string()],
  ]);
  const value = { age: '42', score: 7, flag: 0, price: '12.30', at: new Date(Date.UTC(2024, 0, 31, 12, 30)), raw: Buffer.from('hi'), keep: 'k' };

  it('casts struct fields and updates their schemas', () => {
    const t = transform('Cast$Value', { spec: 'age:int32,score:float64,flag:boolean,price:float64,at:int64,raw:string' });
    const out = run(t, sinkRecord({ valueSchema: schema, value }))!;
    assert.deepEqual(out.value, {
      age: 42,
      score: 7,
      flag: false,
      price: 12.3,
      at: Date.UTC(2024, 0, 31, 12, 30),
      raw: 'aGk=',
      keep: 'k',
    });
    assert.deepEqual(
      out.valueSchema!.fields!.map((f) => [f.field, f.type, f.optional, f.name]),
      [
        ['age', 'int32', false, undefined],
        ['score', 'double', true, undefined],
        ['flag', 'boolean', false, undefined],
        ['price', 'double', false, undefined],
        ['at', 'int64', false, undefined],
        ['raw', 'string', false, undefined],
        ['keep', 'string', false, undefined],
      ],
    );
  });

  it('casts schemaless map fields by their runtime type', () => {
    const t = transform('org.apache.kafka.connect.transforms.Cast$Value', { spec: 'a:int16,b:string,c:boolean,d:float32' });
    const out = run(t, sinkRecord({ value: { a: '12', b: 1.5, c: 'TRUE', d: 0.1, e: 'x' } }))!;
    assert.deepEqual(out.value, { a: 12, b: '1.5', c: true, d: Math.fround(0.1), e: 'x' });
  });

  it('casts the whole key or value', () => {
    assert.equal(wholeCast('int8', Schemas.int32(), 300).value, 44); // Java narrowing wraps
    assert.deepEqual(wholeCast('int8', Schemas.int32(), 300).valueSchema, { type: 'int8', optional: false });
    assert.equal(wholeCast('int32', Schemas.float64(), 42.9).value, 42);
    assert.equal(wholeCast('int32', Schemas.float64(), 1e12).value, 2147483647); // floats saturate
    assert.equal(wholeCast('int64', Schemas.string(), '9007199254740993').value, 9007199254740993n);
    assert.equal(wholeCast('string', Schemas.float64(), 42).value, '42.0');
    assert.equal(wholeCast('string', Schemas.float64(), 1e10).value, '1.0E10');
    assert.equal(wholeCast('string', { type: 'float', optional: false }, Math.fround(0.1)).value, '0.1');
    assert.equal(wholeCast('string', Schemas.timestamp(), new Date(Date.UTC(2024, 0, 31, 12, 30, 1, 5))).value, '2024-01-31T12:30:01.005Z');
    assert.equal(wholeCast('string', Schemas.date(), new Date(Date.UTC(2024, 0, 31))).value, '2024-01-31');
    assert.equal(wholeCast('int32', Schemas.date(), new Date(Date.UTC(1970, 0, 11))).value, 10);
    assert.equal(wholeCast('boolean', Schemas.string(), '1').value, false); // Boolean.parseBoolean
    assert.equal(wholeCast('int32', Schemas.decimal(2), '-12.99').value, -12);
    assert.equal(wholeCast('string', Schemas.decimal(2), '12.30').value, '12.30');
    assert.equal(wholeCast('float64', null, '3.5').value, 3.5);
    const k = run(transform('Cast$Key', { spec: 'string' }), sinkRecord({ keySchema: Schemas.int64(), key: 5 }))!;
    assert.equal(k.key, '5');
    assert.deepEqual(k.keySchema, { type: 'string', optional: false });
  });

  it('fails a record whose value cannot be cast', () => {
    assert.throws(() => wholeCast('int8', Schemas.string(), '300'), /out of range/);
    assert.throws(() => wholeCast('int32', Schemas.string(), 'abc'), DataError);
    assert.throws(() => wholeCast('int32', Schemas.bytes(), Buffer.from('x')), /bytes can only be cast to string/);
    assert.throws(() => wholeCast('int32', Schemas.struct([['a', Schemas.int32()]]), { a: 1 }), /does not support casting from struct/);
  });

  it('rejects invalid specs, naming the spec field', () => {
    for (const spec of ['age:int33', 'int32,age:int8', 'a:b:c', 'bytes']) {
      assert.throws(
        () => transform('Cast$Value', { spec }),
        (e: unknown) => e instanceof ConfigError && Array.isArray(e.fieldErrors.spec),
        spec,
      );
    }
  });
});

describe('TimestampConverter', () => {
  const fmt = 'yyyy MM dd HH mm ss SSS z';
  const ms = 86_401_234; // 1970-01-02 00:00:01.234 UTC
  const text = '1970 01 02 00 00 01 234 UTC';

  it('converts a whole schemaless value between all types', () => {
    const conv = (target: string, value: unknown, extra: Record<string, string> = {}) =>
      run(transform('TimestampConverter$Value', { 'target.type': target, format: fmt, ...extra }), sinkRecord({ value }))!.value;
    assert.deepEqual(conv('Timestamp', text), new Date(ms));
    assert.equal(conv('string', new Date(ms)), text);
    assert.equal(conv('unix', text), ms);
    assert.deepEqual(conv('Date', ms), new Date(86_400_000));
    assert.deepEqual(conv('Time', new Date(ms)), new Date(1234));
    assert.equal(conv('unix', new Date(ms), { 'unix.precision': 'seconds' }), 86401);
    assert.equal(conv('unix', new Date(ms), { 'unix.precision': 'microseconds' }), 86_401_234_000);
    assert.equal(conv('unix', new Date(1_700_000_000_123), { 'unix.precision': 'nanoseconds' }), 1_700_000_000_123_000_000n);
    assert.deepEqual(conv('Timestamp', 1_700_000_000_123_456_789n, { 'unix.precision': 'nanoseconds' }), new Date(1_700_000_000_123));
    assert.deepEqual(conv('Timestamp', 86401, { 'unix.precision': 'seconds' }), new Date(86_401_000));
  });

  it('converts a struct field and updates its schema', () => {
    const schema = Schemas.struct([
      ['id', Schemas.int32()],
      ['created', Schemas.string(true)],
    ]);
    const t = transform('TimestampConverter$Value', { field: 'created', 'target.type': 'Timestamp', format: "yyyy-MM-dd'T'HH:mm:ssXXX" });
    const out = run(t, sinkRecord({ valueSchema: schema, value: { id: 1, created: '2024-01-31T14:30:00+02:00' } }))!;
    assert.deepEqual(out.value, { id: 1, created: new Date(Date.UTC(2024, 0, 31, 12, 30)) });
    assert.deepEqual(out.valueSchema!.fields![1], { field: 'created', type: 'int64', optional: true, name: LogicalNames.Timestamp, version: 1 });
    const nullField = run(t, sinkRecord({ valueSchema: schema, value: { id: 2, created: null } }))!;
    assert.deepEqual(nullField.value, { id: 2, created: null });
  });

  it('converts a schemaful whole value from a logical type to a string', () => {
    const t = transform('TimestampConverter$Value', { 'target.type': 'string', format: 'yyyy-MM-dd' });
    const out = run(t, sinkRecord({ valueSchema: Schemas.timestamp(true), value: new Date(ms) }))!;
    assert.equal(out.value, '1970-01-02');
    assert.deepEqual(out.valueSchema, { type: 'string', optional: true });
  });

  it('converts keys, and fails on unparseable text', () => {
    const t = transform('TimestampConverter$Key', { 'target.type': 'unix', format: 'yyyy-MM-dd' });
    assert.equal(run(t, sinkRecord({ key: '1970-01-02' }))!.key, 86_400_000);
    assert.throws(() => run(t, sinkRecord({ key: 'yesterday' })), /Could not parse timestamp/);
  });

  it('requires a format for string targets and a valid target.type', () => {
    assert.throws(
      () => transform('TimestampConverter$Value', { 'target.type': 'string' }),
      (e: unknown) => e instanceof ConfigError && /requires format/.test(e.fieldErrors.format[0]),
    );
    assert.throws(
      () => transform('TimestampConverter$Value', { 'target.type': 'Instant' }),
      (e: unknown) => e instanceof ConfigError && 'target.type' in e.fieldErrors,
    );
    assert.throws(
      () => transform('TimestampConverter$Value', { 'target.type': 'unix', format: 'yyyy-qq' }),
      (e: unknown) => e instanceof ConfigError && /Illegal pattern character 'q'/.test(e.fieldErrors.format[0]),
    );
  });
});

describe('TimestampRouter', () => {
  it('routes by the record timestamp with the default formats', () => {
    const t = transform('org.apache.kafka.connect.transforms.TimestampRouter');
    assert.equal(run(t, sinkRecord({ timestamp: Date.UTC(2024, 0, 31, 23, 59) }))!.topic, 'orders-20240131');
    assert.equal(run(t, sinkRecord({ timestamp: Date.UTC(2024, 1, 1, 0, 0) }))!.topic, 'orders-20240201');
    assert.equal(run(t, sinkRecord({ topic: 'users', timestamp: Date.UTC(2024, 1, 1, 0, 1) }))!.topic, 'users-20240201');
  });

  it('uses topic.format and timestamp.format', () => {
    const t = transform('TimestampRouter', { 'topic.format': 'logs_${timestamp}_${topic}', 'timestamp.format': "yyyy-MM-dd'T'HH" });
    assert.equal(run(t, sinkRecord({ timestamp: Date.UTC(2024, 0, 31, 7, 59) }))!.topic, 'logs_2024-01-31T07_orders');
    assert.equal(run(t, sinkRecord({ timestamp: Date.UTC(2024, 0, 31, 8, 0) }))!.topic, 'logs_2024-01-31T08_orders');
  });

  it('fails records without a timestamp', () => {
    assert.throws(() => run(transform('TimestampRouter'), sinkRecord({ timestamp: null })), /Timestamp missing/);
  });
});

describe('SimpleDateFormat patterns', () => {
  const t = Date.UTC(2024, 0, 31, 12, 5, 9, 7); // a Wednesday

  it('formats the common pattern letters in UTC', () => {
    const f = (p: string) => compileDateFormat(p).format(t);
    assert.equal(f('yyyyMMdd'), '20240131');
    assert.equal(f('yy-M-d'), '24-1-31');
    assert.equal(f("EEE, d MMM yyyy HH:mm:ss Z"), 'Wed, 31 Jan 2024 12:05:09 +0000');
    assert.equal(f('EEEE MMMM'), 'Wednesday January');
    assert.equal(f("hh 'o''clock' a"), "12 o'clock PM");
    assert.equal(f('K:mm a, k'), '0:05 PM, 12');
    assert.equal(f('HH:mm:ss.SSS'), '12:05:09.007');
    assert.equal(f('D u'), '31 3');
    assert.equal(f("yyyy-MM-dd'T'HH:mm:ssXXX"), '2024-01-31T12:05:09Z');
    assert.equal(f('G z'), 'AD UTC');
    assert.equal(compileDateFormat("w YYYY").format(Date.UTC(2024, 11, 31)), '1 2025');
    assert.equal(compileDateFormat('w').format(Date.UTC(2024, 0, 7)), '2');
  });

  it('parses text, abutting numbers, names, am/pm and zones', () => {
    const p = (pattern: string, text: string) => compileDateFormat(pattern).parse(text);
    assert.equal(p('yyyyMMddHHmm', '202401311205'), Date.UTC(2024, 0, 31, 12, 5));
    assert.equal(p('d MMM yyyy', '31 jan 2024'), Date.UTC(2024, 0, 31));
    assert.equal(p('MMMM d, yyyy h:mm a', 'January 31, 2024 1:05 PM'), Date.UTC(2024, 0, 31, 13, 5));
    assert.equal(p("yyyy-MM-dd'T'HH:mm:ss.SSSZ", '2024-01-31T12:05:09.007-0130'), Date.UTC(2024, 0, 31, 13, 35, 9, 7));
    assert.equal(p('yyyy-MM-dd HH:mm z', '2024-01-31 12:05 GMT+01:00'), Date.UTC(2024, 0, 31, 11, 5));
    assert.equal(p('yyyy-MM-dd', '2024-01-31 trailing text'), Date.UTC(2024, 0, 31));
    assert.throws(() => p('yyyy-MM-dd', '2024/01/31'), /does not match pattern/);
  });

  it('rejects invalid patterns', () => {
    assert.throws(() => compileDateFormat('yyyy-qq'), /Illegal pattern character 'q'/);
    assert.throws(() => compileDateFormat("yyyy 'unterminated"), /Unterminated quote/);
  });
});
