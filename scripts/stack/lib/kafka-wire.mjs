// Just enough of the Kafka wire protocol to tell whether a broker is really
// ready for clients: ApiVersions (the broker answers at all) and
// FindCoordinator for a consumer group (the broker can create
// __consumer_offsets and coordinate groups, which is what tests need first).
import { tcpExchange } from './net.mjs';

const API_VERSIONS = 18;
const FIND_COORDINATOR = 10;
const CLIENT_ID = 'ferry-stack-probe';

function str16(s) {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function uvarint(n) {
  const out = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

function compactStr(s) {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([uvarint(b.length + 1), b]);
}

function frame(apiKey, apiVersion, correlationId, body, flexibleHeader) {
  const h = Buffer.alloc(8);
  h.writeInt16BE(apiKey, 0);
  h.writeInt16BE(apiVersion, 2);
  h.writeInt32BE(correlationId, 4);
  const header = Buffer.concat([h, str16(CLIENT_ID), flexibleHeader ? Buffer.from([0]) : Buffer.alloc(0)]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length);
  return Buffer.concat([size, header, body]);
}

const complete = (buf) => buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0);

class Reader {
  constructor(buf, off = 0) {
    this.b = buf;
    this.o = off;
  }
  i8() {
    return this.b.readInt8(this.o++);
  }
  i16() {
    const v = this.b.readInt16BE(this.o);
    this.o += 2;
    return v;
  }
  i32() {
    const v = this.b.readInt32BE(this.o);
    this.o += 4;
    return v;
  }
  uvarint() {
    let v = 0;
    let shift = 0;
    for (;;) {
      const byte = this.b[this.o++];
      v |= (byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
      shift += 7;
    }
  }
  str16() {
    const n = this.i16();
    if (n < 0) return null;
    const s = this.b.toString('utf8', this.o, this.o + n);
    this.o += n;
    return s;
  }
  compactStr() {
    const n = this.uvarint() - 1;
    if (n < 0) return null;
    const s = this.b.toString('utf8', this.o, this.o + n);
    this.o += n;
    return s;
  }
}

/** ApiVersions v0. Resolves Map(apiKey -> [min, max]) or null. */
export async function apiVersions(host, port, timeoutMs = 2000) {
  const buf = await tcpExchange(host, port, frame(API_VERSIONS, 0, 1, Buffer.alloc(0), false), complete, timeoutMs);
  if (!buf) return null;
  const r = new Reader(buf, 4);
  if (r.i32() !== 1) return null;
  const err = r.i16();
  if (err !== 0) return null;
  const n = r.i32();
  const m = new Map();
  for (let i = 0; i < n; i++) {
    const key = r.i16();
    m.set(key, [r.i16(), r.i16()]);
  }
  return m;
}

/**
 * FindCoordinator for a consumer group. Resolves {errorCode, nodeId, host, port}
 * or null when the broker did not answer.
 */
export async function findGroupCoordinator(host, port, group, versions, timeoutMs = 3000) {
  const range = versions?.get(FIND_COORDINATOR);
  if (!range) return null;
  const [min, max] = range;
  let v;
  if (min <= 2 && max >= 1) v = Math.min(max, 2);
  else if (min <= 3 && max >= 3) v = 3;
  else return null; // only batched (v4+) versions: not implemented here
  const flexible = v >= 3;
  const body = flexible
    ? Buffer.concat([compactStr(group), Buffer.from([0]), Buffer.from([0])]) // key, key_type=group, tags
    : Buffer.concat([str16(group), Buffer.from([0])]);
  const buf = await tcpExchange(host, port, frame(FIND_COORDINATOR, v, 2, body, flexible), complete, timeoutMs);
  if (!buf) return null;
  const r = new Reader(buf, 4);
  if (r.i32() !== 2) return null;
  if (flexible) r.uvarint(); // response header tagged fields (assumed empty)
  r.i32(); // throttle_time_ms
  const errorCode = r.i16();
  if (flexible) r.compactStr();
  else r.str16();
  const nodeId = r.i32();
  const chost = flexible ? r.compactStr() : r.str16();
  const cport = r.i32();
  return { errorCode, nodeId, host: chost, port: cport, version: v };
}

/**
 * True when a broker answers on host:port and can coordinate a consumer group
 * (FindCoordinator returns no error).
 */
export async function kafkaReady(host, port) {
  const versions = await apiVersions(host, port);
  if (!versions) return false;
  const res = await findGroupCoordinator(host, port, 'ferry-stack-probe', versions);
  return !!res && res.errorCode === 0;
}

/** True when something answering the Kafka protocol listens on host:port. */
export async function kafkaAnswers(host, port) {
  return !!(await apiVersions(host, port));
}
