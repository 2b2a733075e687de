import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DataError, Schemas, type Schema } from '@ferry/core';
import { ByteArrayConverter, JsonConverter, StringConverter } from '../src/converters/index.js';
import { decimalFromBase64, decimalToBase64, javaBigDecimalString } from '../src/converters/decimal.js';
import { hasLongInteger, plainJsonString } from '../src/converters/json-text.js';

/**
 * Reference outputs of Apache Kafka Connect's own JsonConverter, written by
 * tools/kafka-connect-fixtures/generate.sh. Each case of manifest.json is
 * rebuilt below by name, as the same schema and value in ferry's model.
 */
const fixturesDir = new URL('./fixtures/kafka-connect/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', fixturesDir), 'utf8')) as {
  kafkaVersion: string;
  cases: Array<{ name: string; file: string | null; config: Record<string, string> }>;
};

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

const DAY_MS = 86_400_000;

const line = Schemas.struct([['sku', Schemas.string()], ['qty', Schemas.int32()]], { name: 'Line' });
const plain = Schemas.struct(
  [
    ['id', Schemas.int32()],
    ['name', Schemas.string()],
    ['ok', Schemas.boolean()],
    ['small', Schemas.primitive('int8')],
    ['mid', Schemas.primitive('int16')],
    ['lines', Schemas.array(line)],
    ['note', Schemas.string(true)],
  ],
  { name: 'com.example.Plain' },
);

const decimals = Schemas.struct(
  [
    ['price', Schemas.decimal(2)],
    ['cent', Schemas.decimal(2)],
    ['minusCent', Schemas.decimal(2)],
    ['minus200', Schemas.decimal(2)],
    ['zero', Schemas.decimal(2)],
    ['big', Schemas.decimal(2)],
    ['minusBig', Schemas.decimal(2)],
    ['tiny', Schemas.decimal(10)],
    ['whole', Schemas.decimal(0)],
    ['minus128', Schemas.decimal(0)],
    ['hundreds', Schemas.decimal(-2)],
    ['missing', Schemas.decimal(2, true)],
  ],
  { name: 'com.example.Decimals' },
);
const decimalsValue = {
  price: '123.45',
  cent: '0.01',
  minusCent: '-0.01',
  minus200: '-200.00',
  zero: '0.00',
  big: '99999999999999999999.99',
  minusBig: '-12345678901234567890.12',
  tiny: '0.0000000001',
  whole: '42',
  minus128: '-128',
  hundreds: '12300',
  missing: null,
};

const logical = Schemas.struct(
  [
    ['date', Schemas.date()],
    ['dayBeforeEpoch', Schemas.date()],
    ['time', Schemas.time()],
    ['timestamp', Schemas.timestamp()],
    ['beforeEpoch', Schemas.timestamp()],
    ['optionalDate', Schemas.date(true)],
  ],
  { name: 'com.example.Logical' },
);

const defaults = Schemas.struct(
  [
    ['label', { ...Schemas.string(true), doc: 'display name', default: 'anon' }],
    ['count', { ...Schemas.int32(true), default: 7 }],
    ['ratio', { ...Schemas.float64(true), default: 1 }],
    ['since', { ...Schemas.timestamp(true), default: new Date(0) }],
    ['amount', { ...Schemas.decimal(2, true), default: '1.50' }],
    ['raw', { ...Schemas.bytes(true), default: Buffer.from([9, 8]) }],
    ['note', Schemas.string(true)],
    ['given', { ...Schemas.string(true), default: 'unused' }],
  ],
  { name: 'com.example.Defaults' },
);

const doubles = Schemas.array(Schemas.float64());

/**
 * Each manifest case in ferry's model: the schema and value that were
 * serialized, and what toConnectData gives back when that differs from the
 * value (defaults filled in, unset optional fields read as null, and with
 * schemas.enable=false the plain JSON, as Kafka Connect reads it too).
 */
const cases: Record<string, { schema: Schema | null; value: unknown; readBack?: unknown }> = {
  'customer.schemas': { schema: customer, value },
  'customer.schemaless': {
    schema: customer,
    value,
    readBack: {
      id: 42,
      name: 'Ada',
      score: 1,
      active: true,
      blob: 'AQID',
      updated: 1700000000123,
      price: 'MDk=',
      tags: ['a', 'b'],
      counts: { x: 1 },
      address: { city: 'Paris' },
    },
  },
  plain: {
    schema: plain,
    // Keys out of schema order, and the optional field absent: Kafka Connect writes schema order and null.
    value: { lines: [{ qty: 2, sku: 'A-1' }, { sku: 'B-2', qty: 0 }], mid: 300, small: -8, ok: false, name: 'plain', id: 7 },
    readBack: { id: 7, name: 'plain', ok: false, small: -8, mid: 300, lines: [{ sku: 'A-1', qty: 2 }, { sku: 'B-2', qty: 0 }], note: null },
  },
  'decimals.base64': { schema: decimals, value: decimalsValue },
  'decimal-numeric': { schema: decimals, value: decimalsValue },
  logical: {
    schema: logical,
    value: {
      date: new Date(19782 * DAY_MS),
      dayBeforeEpoch: new Date(-DAY_MS),
      time: new Date(49_530_250),
      timestamp: new Date(1700000000123),
      beforeEpoch: new Date(-1000),
      optionalDate: null,
    },
  },
  'optional-default': {
    schema: defaults,
    value: { given: 'set' },
    readBack: { label: 'anon', count: 7, ratio: 1, since: new Date(0), amount: '1.50', raw: Buffer.from([9, 8]), note: null, given: 'set' },
  },
  'optional-default.no-replace': {
    schema: defaults,
    value: { given: 'set' },
    readBack: { label: null, count: null, ratio: null, since: null, amount: null, raw: null, note: null, given: 'set' },
  },
  string: {
    schema: Schemas.string(),
    value: 'quote " backslash \\ slash / nl \n tab \t cr \r bs \b ff \f ctrl \u0001\u001f del \u007f é 日本 😀 \u2028 </script> \\u0041',
  },
  int64: { schema: Schemas.int64(), value: 1700000000123 },
  'int64-max': { schema: Schemas.int64(), value: 9223372036854775807n },
  'int64-min.schemaless': { schema: Schemas.int64(), value: -9223372036854775808n },
  double: { schema: Schemas.float64(), value: 1 },
  'double-fraction': { schema: Schemas.float64(), value: 2.5 },
  doubles: {
    schema: doubles,
    value: [
      1, 2.5, -0, 0.1, 100, 9999999, 1e7, 1e10, 12345678.9, 0.001, 9.99e-4, 1e-4, -1.5e-7, 123456.789, 1.7976931348623157e308, 5e-324,
      2.2250738585072014e-308, 9007199254740992, 1e21, 1e22, 0.1 + 0.2, 1e16, -2.5e-300,
    ],
  },
  'doubles-nonfinite': { schema: doubles, value: [NaN, Infinity, -Infinity] },
  floats: {
    schema: Schemas.array(Schemas.primitive('float')),
    value: [1, 0.1, 2.5, -3.75, 16777216, 1e10, 3.4028235e38, 1.4e-45, 0.3, 1e-4, 3376200.25, 32009.3125],
    // A float reads back as the number its text says (which writes back as the same text).
    readBack: [1, 0.1, 2.5, -3.75, 16777216, 1e10, 3.4028235e38, 1.4e-45, 0.3, 1e-4, 3376200.2, 32009.312],
  },
  bytes: { schema: Schemas.bytes(), value: Buffer.from([0, 255, 7, 62, 63]) },
  'boolean.schemaless': { schema: Schemas.boolean(), value: true },
  'map-int-keys': {
    schema: Schemas.map(Schemas.int32(), Schemas.string()),
    value: new Map<number, string>([
      [1, 'one'],
      [2, 'two'],
      [-3, 'minus three'],
    ]),
  },
  'map-string-keys': { schema: Schemas.map(Schemas.string(), Schemas.float64()), value: { b: 1, a: 0.5 } },
  'map-optional-string-keys': { schema: Schemas.map(Schemas.string(true), Schemas.int32()), value: new Map([['k', 1]]), readBack: { k: 1 } },
  tombstone: { schema: null, value: null },
  'optional-null': { schema: Schemas.string(true), value: null },
  'optional-null.schemaless': { schema: Schemas.string(true), value: null },
  'no-schema': {
    schema: null,
    value: { a: 1, b: [true, null, 'x'], c: { d: 2.5 }, long: 9007199254740993n, bytes: Buffer.from([1, 2, 3]), text: 'tab\tctrl\u0002' },
    readBack: { a: 1, b: [true, null, 'x'], c: { d: 2.5 }, long: 9007199254740993n, bytes: 'AQID', text: 'tab\tctrl\u0002' },
  },
  'no-schema-int-keys': {
    schema: null,
    value: new Map([
      [1, 'a'],
      [2, 'b'],
    ]),
    readBack: [
      [1, 'a'],
      [2, 'b'],
    ],
  },
};

/** A repeatable random integer below n (32-bit LCG, exact in integer arithmetic; its upper bits). */
function seededRandom(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

function json(config: Record<string, string> = {}): JsonConverter {
  const c = new JsonConverter();
  c.configure(config, false);
  return c;
}

describe(`JsonConverter against Kafka Connect ${manifest.kafkaVersion}'s JsonConverter`, () => {
  it('has a ferry case for every fixture and a fixture for every case', () => {
    assert.deepEqual(manifest.cases.map((c) => c.name).sort(), Object.keys(cases).sort());
  });

  for (const { name, file, config } of manifest.cases) {
    const { schema, value: v, readBack = v } = cases[name] ?? { schema: null, value: undefined };
    const expected = file === null ? null : readFileSync(new URL(file, fixturesDir));
    const schemasEnabled = config['schemas.enable'] !== 'false';

    it(`${name}: fromConnectData writes the same bytes`, () => {
      const out = json(config).fromConnectData('fixtures', schema, v);
      if (expected === null) assert.equal(out, null);
      else assert.equal(out?.toString('utf8'), expected.toString('utf8'));
      if (expected !== null) assert.ok(out!.equals(expected));
    });

    it(`${name}: toConnectData reads the same schema and value back`, () => {
      const back = json(config).toConnectData('fixtures', expected);
      assert.deepEqual(back, { schema: expected !== null && schemasEnabled ? schema : null, value: expected === null ? null : readBack });
    });
  }
});

describe('JsonConverter', () => {
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
    const bad = Buffer.from(JSON.stringify({ schema: { type: 'struct', fields: [{ type: 'int32', optional: false, field: 'n' }], optional: false }, payload: { n: 'x' } }));
    assert.throws(() => json().toConnectData('t', bad), /integer/);
  });

  it('writes a plain struct in schema order through the JSON.stringify fast path as through the typed path', () => {
    const fixture = readFileSync(new URL('plain.json', fixturesDir), 'utf8');
    const inOrder = { id: 7, name: 'plain', ok: false, small: -8, mid: 300, lines: [{ sku: 'A-1', qty: 2 }, { sku: 'B-2', qty: 0 }], note: null };
    assert.equal(json().fromConnectData('t', plain, inOrder)!.toString(), fixture);
    // Strings go through the same escaping on both paths.
    const odd = { ...inOrder, name: 'ctrl \u001f emoji 😀 text \\u001f' };
    const [fast, typed] = [odd, { ...odd, extra: 1 }].map((v) => json().fromConnectData('t', plain, v)!.toString());
    assert.equal(fast, typed);
    assert.match(fast!, /"name":"ctrl \\u001F emoji \\uD83D\\uDE00 text \\\\u001f"/);
  });

  it('writes doubles and floats as Java 19+ Double/Float.toString (shortest, closest, ties to even)', () => {
    const w = (schema: Schema, v: number) => json({ 'schemas.enable': 'false' }).fromConnectData('t', schema, v)!.toString();
    // JDK 17 and earlier print 1.17549435E-38 and 1.15292150460684698E18 here: one digit more than needed.
    assert.equal(w(Schemas.primitive('float'), 1.17549435e-38), '1.1754944E-38');
    assert.equal(w(Schemas.float64(), 2 ** 60), '1.152921504606847E18');
    assert.equal(w(Schemas.float64(), 0.1 + 0.2), '0.30000000000000004');
    assert.equal(w(Schemas.primitive('float'), 0.1 + 0.2), '0.3');
  });

  it('reads int64 past 2^53 and long NUMERIC decimals exactly, even with long digit runs in strings', () => {
    const s = Schemas.struct([['id', Schemas.int64()], ['code', Schemas.string()], ['amount', Schemas.decimal(4)], ['ratio', Schemas.float64()]]);
    const c = json({ 'decimal.format': 'NUMERIC' });
    const v = { id: 1234567890123456789n, code: '12345678901234567890', amount: '-98765432109876.5432', ratio: 0.12345678901234568 };
    const bytes = c.fromConnectData('t', s, v)!;
    assert.match(bytes.toString(), /"payload":\{"id":1234567890123456789,"code":"12345678901234567890","amount":-98765432109876.5432,"ratio":0.12345678901234568\}/);
    assert.deepEqual(c.toConnectData('t', bytes).value, v);
    assert.deepEqual(json({ 'schemas.enable': 'false' }).toConnectData('t', Buffer.from('[12345678901234567890, 1.2345678901234567890]')).value, [
      12345678901234567890n,
      1.2345678901234567,
    ]);
    assert.throws(() => json().toConnectData('t', Buffer.from('{"schema":null,"payload":12345678901234567890')), DataError);
    // The exact reading (here needed for the int64) accepts what the plain one does.
    const mixed = '{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"big"},{"type":"int32","optional":false,"field":"n"},' +
      '{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"at"}],"optional":false},' +
      '"payload":{"big":-9223372036854775808,"n":2.0,"at":1.7E12}}';
    assert.deepEqual(json().toConnectData('t', Buffer.from(mixed)).value, { big: -9223372036854775808n, n: 2, at: new Date(1.7e12) });
  });

  it('finds every integer of 16 or more digits wherever it starts, as a full scan would', () => {
    // The pre-check probes every 16th character: each run length around the probe points, at every offset.
    for (let len = 12; len <= 20; len++) {
      for (let at = 0; at < 40; at++) {
        const text = `${'{"k":"a'.padEnd(at, 'x')}":${'7'.repeat(len)}}`;
        assert.equal(hasLongInteger(text), len >= 16, `${len} digits at ${at}: ${text}`);
        // The same run inside a decimal or an exponent is not an integer.
        assert.equal(hasLongInteger(text.replace(/7+/, (d) => `0.${d}`)), false, text);
      }
    }
    assert.equal(hasLongInteger('1234567890123456'), true);
    assert.equal(hasLongInteger('123456789012345'), false);
    assert.equal(hasLongInteger('[123456789012345,1234567890123456]'), true);
    // Random texts of digits and separators: the same answer as the exact expression over the whole text.
    const exact = /(?<![\d.])\d{16,}(?![\d.eE])/;
    const rnd = seededRandom(7);
    for (let k = 0; k < 2000; k++) {
      let t = '';
      while (t.length < 120) t += rnd(5) === 0 ? ',.e '[rnd(4)] : '0123456789'.repeat(rnd(3) + 1).slice(0, rnd(22));
      assert.equal(hasLongInteger(t), exact.test(t), t);
    }
  });

  it('reads a string token without escapes straight from the bytes, exactly as JSON.parse reads it', () => {
    const c = json({ 'schemas.enable': 'false' });
    assert.equal(plainJsonString(Buffer.from('"k123"')), 'k123');
    assert.equal(plainJsonString(Buffer.from('""')), '');
    assert.equal(plainJsonString(Buffer.from('"a\\"b"')), undefined, 'an escape goes to JSON.parse');
    assert.equal(plainJsonString(Buffer.from(' "a"')), undefined, 'so does whitespace around the token');
    assert.equal(plainJsonString(Buffer.from('"')), undefined);
    assert.throws(() => c.toConnectData('t', Buffer.from('"a"b"')), DataError);
    assert.throws(() => c.toConnectData('t', Buffer.from([0x22, 0x61, 0x09, 0x62, 0x22])), DataError, 'a raw control character');
    // Random byte strings (quotes, backslashes, control bytes, valid and broken UTF-8), mostly
    // between quotes: the converter's answer, or its refusal, is JSON.parse's.
    const pieces = [[0x22], [0x5c], [0x5c, 0x22], [0x1f], [0x20], [0x61], [0x7f], [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xe2, 0x82], [0x80], [0xff], [0x5c, 0x75, 0x30, 0x30, 0x34, 0x31]];
    const rnd = seededRandom(11);
    let plain = 0;
    for (let k = 0; k < 20000; k++) {
      const body: number[] = [];
      for (let i = rnd(8); i > 0; i--) body.push(...pieces[rnd(pieces.length)]!);
      const bytes = Buffer.from(rnd(10) === 0 ? body : [0x22, ...body, 0x22]);
      if (bytes.length === 0) continue; // null, as in Kafka Connect
      if (plainJsonString(bytes) !== undefined) plain++;
      let expected: unknown;
      try {
        expected = JSON.parse(bytes.toString('utf8'));
      } catch {
        assert.throws(() => c.toConnectData('t', bytes), DataError, bytes.toString('hex'));
        continue;
      }
      assert.deepEqual(c.toConnectData('t', bytes).value, expected, bytes.toString('hex'));
    }
    assert.ok(plain > 2000, `the fast path served ${plain} of the texts`);
  });

  it('refuses a Decimal with more digits than its scale, as Kafka Connect refuses a mismatched scale', () => {
    const s = Schemas.struct([['p', Schemas.decimal(2)]]);
    assert.throws(() => json().fromConnectData('t', s, { p: '1.005' }), DataError);
    assert.equal(json().fromConnectData('t', s, { p: '1.500' })!.toString().endsWith('"payload":{"p":"AJY="}}'), true);
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

  it('writes NUMERIC decimals as Java BigDecimal.toString()', () => {
    assert.equal(javaBigDecimalString(0n, 10), '0E-10');
    assert.equal(javaBigDecimalString(1n, 6), '0.000001');
    assert.equal(javaBigDecimalString(1n, 7), '1E-7');
    assert.equal(javaBigDecimalString(-123n, -2), '-1.23E+4');
    assert.equal(javaBigDecimalString(5n, -1), '5E+1');
    assert.equal(javaBigDecimalString(-1234n, 2), '-12.34');
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

