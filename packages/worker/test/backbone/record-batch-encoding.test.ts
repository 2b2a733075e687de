/**
 * Record batch encoding and decoding, as patched in patches/ (see the
 * README's "Dependency patches"): records are written into one buffer,
 * timestamp deltas use 64-bit zig-zag varints, and fetched batches are read
 * whole or in chunks. Checked with the client's own reader and the batch CRC;
 * the broker side of the same is in backbone-contract.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRecordsBatch, crc32c, readRecordsBatch, readRecordsBatches, Reader, Writer } from '@platformatic/kafka';

interface Msg {
  topic: string;
  partition: number;
  key: Buffer | null | undefined;
  value: Buffer | null;
  timestamp: bigint;
  headers?: Map<Buffer, Buffer | null>;
}

// A 32-bit LCG in exact integer arithmetic (a plain product passes 2^53 and loses the low bits); its upper bits.
let seed = 11;
const rnd = (n: number): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed >>> 8) % n;
};
const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => rnd(256)));

/** Decodes a batch and checks its CRC (attributes to the end, as the broker does). */
function decode(batch: Buffer) {
  const crcAt = 8 + 4 + 4 + 1;
  assert.equal(batch.readUInt32BE(crcAt), crc32c(batch.subarray(crcAt + 4)), 'batch CRC');
  assert.equal(batch.readInt32BE(8), batch.length - 12, 'batch length');
  return readRecordsBatch(Reader.from(batch));
}

/** The batch as a fetch response holds it: in socket-sized chunks of random sizes. */
function chunked(batch: Buffer): Writer['dynamicBuffer'] {
  const w = Writer.create();
  for (let at = 0; at < batch.length; ) {
    const n = Math.min(batch.length - at, 1 + rnd(4000));
    w.append(batch.subarray(at, at + n));
    at += n;
  }
  return w.dynamicBuffer;
}

function check(messages: Msg[], compression?: 'gzip'): void {
  const expected = messages.map((m) => ({ ...m, headers: m.headers && new Map(m.headers) }));
  const batch = createRecordsBatch(messages as never, { producerId: 7n, producerEpoch: 1, compression }).buffer;
  const got = decode(batch);
  // Two batches back to back, in chunks, decode to the same records.
  const both = readRecordsBatches(Reader.from(chunked(Buffer.concat([batch, batch]))));
  assert.equal(both.length, 2);
  for (const again of both) assert.deepEqual(again, got);
  assert.equal(got.records.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const r = got.records[i]!;
    assert.equal(got.firstTimestamp + r.timestampDelta, e.timestamp, `timestamp of record ${i}`);
    assert.equal(r.offsetDelta, i);
    assert.deepEqual(r.key, e.key ?? null, `key of record ${i}`);
    assert.deepEqual(r.value, e.value, `value of record ${i}`);
    assert.deepEqual(
      r.headers.map(([k, v]) => [k, v]),
      [...(e.headers ?? [])].map(([k, v]) => [k, v]),
      `headers of record ${i}`,
    );
  }
}

describe('record batch encoding and decoding', () => {
  it('random batches: null, empty and large keys and values, headers, timestamps near and far', () => {
    const base = BigInt(Date.now());
    for (let round = 0; round < 300; round++) {
      const messages: Msg[] = [];
      for (let i = 1 + rnd(200); i > 0; i--) {
        const k = rnd(4);
        const v = rnd(5);
        const t = rnd(5);
        const m: Msg = {
          topic: 't',
          partition: 0,
          key: k === 0 ? null : k === 1 ? undefined : bytes(rnd(3) === 0 ? 0 : rnd(200)),
          value: v === 0 ? null : bytes(v === 1 ? 0 : rnd(v === 4 ? 20_000 : 300)),
          timestamp: t === 0 ? base : t === 1 ? base - BigInt(rnd(2 ** 30)) * 1000n : t === 2 ? base + BigInt(rnd(1e6)) : t === 3 ? 0n : base - BigInt(rnd(1e6)),
        };
        if (rnd(3) === 0) {
          m.headers = new Map();
          for (let h = rnd(4); h > 0; h--) m.headers.set(bytes(rnd(10)), rnd(4) === 0 ? null : bytes(rnd(50)));
        }
        messages.push(m);
      }
      check(messages);
    }
  });

  it('compressed batches (gzip) decode to the same records', () => {
    const messages: Msg[] = Array.from({ length: 500 }, (_, i) => ({ topic: 't', partition: 0, key: i % 3 ? Buffer.from(`k${i}`) : null, value: Buffer.from(`value ${i} `.repeat(1 + (i % 7))), timestamp: 1_796_000_000_000n - BigInt(i) * 86_400_000n }));
    check(messages, 'gzip');
  });

  it('a batch cut short is refused, not read as records', () => {
    const messages = Array.from({ length: 50 }, (_, i) => ({ topic: 't', partition: 0, key: null, value: Buffer.from(`record ${i}`), timestamp: 5n }));
    const batch = createRecordsBatch(messages as never, {}).buffer;
    assert.throws(() => readRecordsBatch(Reader.from(batch.subarray(0, batch.length - 3))));
    // A fetch response ending inside a batch: the whole batches before it only.
    assert.equal(readRecordsBatches(Reader.from(Buffer.concat([batch, batch.subarray(0, batch.length - 3)]))).length, 1);
  });

  it('timestamp deltas beyond 2^31 ms keep their sign and size', () => {
    const now = 1_796_000_000_000n;
    const day = 86_400_000n;
    check([
      { topic: 't', partition: 0, key: null, value: Buffer.from('a'), timestamp: now },
      { topic: 't', partition: 0, key: null, value: Buffer.from('b'), timestamp: now - 30n * day },
      { topic: 't', partition: 0, key: null, value: Buffer.from('c'), timestamp: now + 40n * day },
      { topic: 't', partition: 0, key: null, value: Buffer.from('d'), timestamp: 0n },
    ]);
    // Beyond 49 bits, the widest deltas
    check([
      { topic: 't', partition: 0, key: null, value: null, timestamp: 2n ** 62n },
      { topic: 't', partition: 0, key: null, value: null, timestamp: 0n },
      { topic: 't', partition: 0, key: null, value: null, timestamp: 2n ** 62n + 2n ** 61n },
    ]);
  });

  it('writes the records of a batch as one chunk, whatever their number', () => {
    const messages = Array.from({ length: 1000 }, (_, i) => ({ topic: 't', partition: 0, key: null, value: Buffer.from(`record ${i}`), timestamp: 1n + BigInt(i) }));
    const writer = createRecordsBatch(messages as never, {});
    // The batch header's fields, then the records.
    assert.ok(writer.buffers.length <= 16, `${writer.buffers.length} chunks`);
    assert.equal(decode(writer.buffer).records.length, 1000);
  });
});
