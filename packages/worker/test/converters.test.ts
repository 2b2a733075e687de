import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DataError, LogicalNames, Schemas, type Schema } from '@ferry/core';
import { ByteArrayConverter, JsonConverter, StringConverter } from '../src/converters/index.js';
import { decimalFromBase64, decimalToBase64 } from '../src/converters/decimal.js';

const fixture = readFileSync(new URL('./fixtures/kafka-connect-json-envelope.json', import.meta.url), 'utf8').trim();

const customer: Schema = Schemas.struct(
  [
    ['id', Schemas.int32()],
    ['name', Schemas.string(true)],
    ['score', Schemas.float64()],
    ['active', Schemas.boolean()],
    ['blob', Schemas.bytes(true)],
    ['updated', Schemas.timestamp()],
    ['price', Schemas.decimal(2)],
    ['tags', Schemas.array(Schemas.string())],
    ['counts', Schemas.map(Schemas.string(), Schemas.int64())],
    ['address', Schemas.struct([['city', Schemas.string()]], { name: 'Address', optional: true })],
  ],
  { name: 'com.example.Customer', version: 3 },
);

const value = {
  id: 42,
  name: 'Ada',
  score: 1,
  active: true,
  blob: Buffer.from([1, 2, 3]),
  updated: new Date(1700000000123),
  price: '123.45',
  tags: ['a', 'b'],
  counts: { x: 1 },
  address: { city: 'Paris' },
};

function json(config: Record<string, string> = {}): JsonConverter {
  const c = new JsonConverter();
  c.configure(config, false);
  return c;
}

describe('JsonConverter', () => {
  it('writes the exact bytes of Kafka Connect\'s JsonConverter envelope', () => {
    assert.equal(json().fromConnectData('t', customer, value)!.toString(), fixture);
  });

  it('reads that envelope back to the same schema and values', () => {
    const { schema, value: v } = json().toConnectData('t', Buffer.from(fixture));
    assert.deepEqual(schema, customer);
    assert.deepEqual(v, value);
  });

  it('round-trips schemaless JSON with schemas.enable=false', () => {
    const c = json({ 'schemas.enable': 'false' });
    const obj = { a: 1, b: [true, null, 'x'], c: { d: 2.5 } };
    const bytes = c.fromConnectData('t', null, obj)!;
    assert.equal(bytes.toString(), JSON.stringify(obj));
    assert.deepEqual(c.toConnectData('t', bytes), { schema: null, value: obj });
  });

  it('keeps tombstones null and rejects non-envelopes with the Kafka Connect message', () => {
    assert.equal(json().fromConnectData('t', null, null), null);
    assert.deepEqual(json().toConnectData('t', null), { schema: null, value: null });
    assert.throws(() => json().toConnectData('t', Buffer.from('{"a":1}')), (e: unknown) => e instanceof DataError && /schemas.enable=false/.test((e as Error).message));
    assert.throws(() => json().toConnectData('t', Buffer.from('{not json')), DataError);
  });

  it('writes decimals as NUMERIC when asked, and a schemaless envelope with schema null', () => {
    const s = Schemas.struct([['p', Schemas.decimal(2)]]);
    assert.equal(json({ 'decimal.format': 'NUMERIC', 'schemas.enable': 'false' }).fromConnectData('t', s, { p: '7.5' })!.toString(), '{"p":7.50}');
    assert.equal(json().fromConnectData('t', null, { a: 1 })!.toString(), '{"schema":null,"payload":{"a":1}}');
  });

  it('fails clearly on a value that does not match its schema', () => {
    const s = Schemas.struct([['n', Schemas.int32()]]);
    const bad = Buffer.from(JSON.stringify({ schema: { type: 'struct', fields: [{ type: 'int32', optional: false, field: 'n' }], optional: false }, payload: { n: 'x' } }));
    assert.throws(() => json().toConnectData('t', bad), /integer/);
    void s;
  });
});

describe('Decimal encoding', () => {
  it('matches Java BigDecimal unscaled two\'s-complement bytes', () => {
    assert.equal(decimalToBase64('123.45', 2), 'MDk=');
    assert.equal(decimalToBase64('-1.00', 2), 'nA==');
    assert.equal(decimalToBase64('-200.00', 2), 'seA=');
    assert.equal(decimalToBase64('0', 0), 'AA==');
    for (const v of ['0.01', '-0.01', '99999999999999999999.99', '-128.00', '127.00', '1.50']) {
      assert.equal(decimalFromBase64(decimalToBase64(v, 2), 2), v);
    }
  });
});

describe('StringConverter and ByteArrayConverter', () => {
  it('round-trip strings and bytes', () => {
    const s = new StringConverter();
    s.configure({}, false);
    assert.equal(s.fromConnectData('t', null, 'héllo')!.toString(), 'héllo');
    assert.deepEqual(s.toConnectData('t', Buffer.from('héllo')), { schema: Schemas.string(true), value: 'héllo' });
    assert.equal(s.fromConnectData('t', null, null), null);
    const b = new ByteArrayConverter();
    b.configure();
    const buf = Buffer.from([0, 255, 7]);
    assert.equal(b.fromConnectData('t', Schemas.bytes(), buf), buf);
    assert.deepEqual(b.toConnectData('t', buf).value, buf);
    assert.throws(() => b.fromConnectData('t', Schemas.string(), 'x'), DataError);
  });
});

void LogicalNames;
