import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEnvelope, encodeEnvelope } from '../../src/backbone/kinesis/envelope.js';
import { partitionKeyOf } from '../../src/backbone/kinesis/kinesis-backbone.js';

describe('Kinesis backbone envelope', () => {
  it('round-trips key, value, headers (null and repeated) and timestamp', () => {
    const r = {
      key: Buffer.from('k1'),
      value: Buffer.from('{"a":1}'),
      headers: [
        { key: 'h', value: Buffer.from('x') },
        { key: 'h', value: Buffer.from('y') },
        { key: 'null', value: null },
        { key: 'ünï', value: Buffer.alloc(0) },
      ],
      timestamp: 1_700_000_000_123,
    };
    const d = decodeEnvelope(encodeEnvelope(r), 1);
    assert.equal(d.enveloped, true);
    assert.deepEqual(d.key, r.key);
    assert.deepEqual(d.value, r.value);
    assert.equal(d.timestamp, r.timestamp);
    assert.deepEqual(
      d.headers.map((h) => [h.key, h.value?.toString() ?? null]),
      [['h', 'x'], ['h', 'y'], ['null', null], ['ünï', '']],
    );
  });

  it('keeps null key and null value (tombstones) apart from empty ones', () => {
    const d = decodeEnvelope(encodeEnvelope({ key: null, value: null, timestamp: 5 }), 1);
    assert.equal(d.key, null);
    assert.equal(d.value, null);
    assert.equal(encodeEnvelope({ key: null, value: null, timestamp: 5 }).length, 16);
  });

  it('reads a plain producer record as value only, stamped with its arrival time', () => {
    for (const plain of [Buffer.from('{"x":1}'), Buffer.from([0x00, 0x46, 0x52, 0x59, 0x01, 0x00, 1, 2]), Buffer.alloc(0)]) {
      const d = decodeEnvelope(plain, 42);
      assert.equal(d.enveloped, false);
      assert.equal(d.key, null);
      assert.deepEqual(d.value, plain);
      assert.equal(d.timestamp, 42);
      assert.deepEqual(d.headers, []);
    }
  });

  it('reads a truncated or trailing-garbage envelope as plain data rather than inventing fields', () => {
    const good = encodeEnvelope({ key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 9 });
    assert.equal(decodeEnvelope(good.subarray(0, good.length - 1), 1).enveloped, false);
    assert.equal(decodeEnvelope(Buffer.concat([good, Buffer.from([0])]), 1).enveloped, false);
  });

  it('maps keys to partition keys: text keys as is, others hashed, null keys round-robin', () => {
    let n = 0;
    const next = () => n++;
    assert.equal(partitionKeyOf(Buffer.from('order-7'), next), 'order-7');
    assert.match(partitionKeyOf(Buffer.from([0xff, 0xfe]), next), /^[0-9a-f]{64}$/);
    assert.match(partitionKeyOf(Buffer.alloc(300, 0x61), next), /^[0-9a-f]{64}$/);
    assert.deepEqual([partitionKeyOf(null, next), partitionKeyOf(null, next)], ['~0', '~1']);
    // a text key that looks like a round-robin key is hashed, so it never shares their namespace
    assert.match(partitionKeyOf(Buffer.from('~3'), next), /^[0-9a-f]{64}$/);
  });
});
