/**
 * The record envelope of the Kinesis backbone. A Kinesis record carries only
 * a partition key (a string of at most 256 characters) and a data blob, so
 * the Kafka record's key bytes, headers and timestamp travel inside the blob:
 *
 * ```
 * offset  size  field
 * 0       4     magic 0x00 'F' 'R' 'Y'
 * 4       1     version (1)
 * 5       1     flags: bit 0 key present, bit 1 value present
 * 6       8     timestamp, ms since epoch, big-endian signed
 * 14      4     key length (u32 BE), then the key bytes (only if bit 0)
 * ..      4     value length (u32 BE), then the value bytes (only if bit 1)
 * ..      2     header count (u16 BE), then per header:
 *               2 name length (u16 BE) + UTF-8 name,
 *               4 value length (i32 BE, -1 = null) + bytes
 * ```
 *
 * 16 bytes of overhead, plus 4 per present key or value and the headers. A blob that does
 * not start with the magic and version is a plain producer's record: it is
 * read as a value only (no key, no headers, the arrival time as timestamp).
 */
const MAGIC = Buffer.from([0x00, 0x46, 0x52, 0x59]);
export const ENVELOPE_VERSION = 1;

export interface EnvelopeRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: string; value: Buffer | null }>;
  timestamp: number;
}

export function encodeEnvelope(r: { key: Buffer | null; value: Buffer | null; headers?: Array<{ key: string; value: Buffer | null }> | undefined; timestamp: number }): Buffer {
  const headers = r.headers ?? [];
  const names = headers.map((h) => Buffer.from(h.key, 'utf8'));
  let size = 4 + 1 + 1 + 8 + 2;
  if (r.key) size += 4 + r.key.length;
  if (r.value) size += 4 + r.value.length;
  for (let i = 0; i < headers.length; i++) size += 2 + names[i]!.length + 4 + (headers[i]!.value?.length ?? 0);
  if (headers.length > 0xffff) throw new RangeError(`Too many headers for the Kinesis envelope: ${headers.length}`);
  const b = Buffer.allocUnsafe(size);
  MAGIC.copy(b, 0);
  b[4] = ENVELOPE_VERSION;
  b[5] = (r.key ? 1 : 0) | (r.value ? 2 : 0);
  b.writeBigInt64BE(BigInt(Math.trunc(r.timestamp)), 6);
  let o = 14;
  if (r.key) {
    b.writeUInt32BE(r.key.length, o);
    r.key.copy(b, o + 4);
    o += 4 + r.key.length;
  }
  if (r.value) {
    b.writeUInt32BE(r.value.length, o);
    r.value.copy(b, o + 4);
    o += 4 + r.value.length;
  }
  b.writeUInt16BE(headers.length, o);
  o += 2;
  for (let i = 0; i < headers.length; i++) {
    const n = names[i]!;
    if (n.length > 0xffff) throw new RangeError('Header name too long for the Kinesis envelope');
    b.writeUInt16BE(n.length, o);
    n.copy(b, o + 2);
    o += 2 + n.length;
    const v = headers[i]!.value;
    if (v === null) {
      b.writeInt32BE(-1, o);
      o += 4;
    } else {
      b.writeInt32BE(v.length, o);
      v.copy(b, o + 4);
      o += 4 + v.length;
    }
  }
  return b;
}

function isEnvelope(b: Buffer): boolean {
  return b.length >= 16 && b[0] === 0x00 && b[1] === 0x46 && b[2] === 0x52 && b[3] === 0x59 && b[4] === ENVELOPE_VERSION && (b[5]! & ~3) === 0;
}

/**
 * Decodes a blob; a blob that is not a well-formed envelope (a plain
 * producer's record) becomes a value-only record stamped `arrival`.
 */
export function decodeEnvelope(b: Buffer, arrival: number): EnvelopeRecord & { enveloped: boolean } {
  if (isEnvelope(b)) {
    try {
      return { ...decodeStrict(b), enveloped: true };
    } catch {
      /* malformed: read as plain data below */
    }
  }
  return { key: null, value: b, headers: [], timestamp: arrival, enveloped: false };
}

function decodeStrict(b: Buffer): EnvelopeRecord {
  const flags = b[5]!;
  const timestamp = Number(b.readBigInt64BE(6));
  let o = 14;
  const take = (n: number): Buffer => {
    if (n < 0 || o + n > b.length) throw new RangeError('truncated envelope');
    const s = b.subarray(o, o + n);
    o += n;
    return s;
  };
  const u32 = () => take(4).readUInt32BE(0);
  const key = flags & 1 ? take(u32()) : null;
  const value = flags & 2 ? take(u32()) : null;
  const count = take(2).readUInt16BE(0);
  const headers: EnvelopeRecord['headers'] = [];
  for (let i = 0; i < count; i++) {
    const name = take(take(2).readUInt16BE(0)).toString('utf8');
    const len = take(4).readInt32BE(0);
    headers.push({ key: name, value: len < 0 ? null : take(len) });
  }
  if (o !== b.length) throw new RangeError('trailing bytes after envelope');
  return { key, value, headers, timestamp };
}
