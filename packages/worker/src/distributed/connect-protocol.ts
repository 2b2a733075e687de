/**
 * Kafka Connect's group protocol payloads (protocol type `connect`, the
 * incremental cooperative versions 1 and 2): what a worker tells the group
 * when it joins (member metadata) and what the leader hands each worker
 * (its assignment). Binary layout as Kafka Connect's, so tools that decode
 * a Connect group's members can decode ours.
 *
 * A connector is written as task id -1 beside its tasks, as Kafka Connect does.
 */

export const CONNECT_PROTOCOL_TYPE = 'connect';
export const CONNECT_PROTOCOL_NAME = 'sessioned';
export const CONNECT_PROTOCOL_VERSION = 2;
const CONNECTOR_TASK = -1;

/** Connectors and tasks (task ids `name-n`). */
export interface WorkSet {
  connectors: string[];
  tasks: Array<{ connector: string; task: number }>;
}

export interface MemberMetadata {
  version: number;
  /** REST URL of the worker (from rest.advertised.host.name/port). */
  url: string;
  /** Offset of the config topic the worker has read up to. */
  configOffset: bigint;
  /** What the worker runs now (null: nothing yet). */
  allocation: Assignment | null;
}

export interface Assignment {
  version: number;
  error: number;
  leader: string;
  leaderUrl: string;
  configOffset: bigint;
  assigned: WorkSet;
  revoked: WorkSet;
  /** ms until the leader reassigns the work of departed workers (0: none pending). */
  delay: number;
}

export const emptyWorkSet = (): WorkSet => ({ connectors: [], tasks: [] });

class Out {
  private readonly parts: Buffer[] = [];
  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  int64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    this.parts.push(b);
    return this;
  }
  string(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.int16(b.length);
    this.parts.push(b);
    return this;
  }
  bytes(b: Buffer | null): this {
    if (b === null) return this.int32(-1);
    this.int32(b.length);
    this.parts.push(b);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class In {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  int16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): bigint {
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  string(): string {
    const n = this.int16();
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  bytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
}

function writeWorkSet(out: Out, set: WorkSet): void {
  const byConnector = new Map<string, number[]>();
  for (const c of set.connectors) byConnector.set(c, [CONNECTOR_TASK]);
  for (const t of set.tasks) {
    const l = byConnector.get(t.connector) ?? [];
    l.push(t.task);
    byConnector.set(t.connector, l);
  }
  out.int32(byConnector.size);
  for (const [c, ids] of byConnector) {
    out.string(c);
    out.int32(ids.length);
    for (const id of ids) out.int32(id);
  }
}

function readWorkSet(inp: In): WorkSet {
  const set = emptyWorkSet();
  const n = inp.int32();
  for (let i = 0; i < n; i++) {
    const c = inp.string();
    const m = inp.int32();
    for (let j = 0; j < m; j++) {
      const id = inp.int32();
      if (id === CONNECTOR_TASK) set.connectors.push(c);
      else set.tasks.push({ connector: c, task: id });
    }
  }
  return set;
}

export function encodeAssignment(a: Assignment): Buffer {
  const out = new Out().int16(a.version).int16(a.error).string(a.leader).string(a.leaderUrl).int64(a.configOffset);
  writeWorkSet(out, a.assigned);
  writeWorkSet(out, a.revoked);
  out.int32(a.delay);
  return out.done();
}

export function decodeAssignment(buf: Buffer): Assignment {
  const inp = new In(buf);
  const version = inp.int16();
  const error = inp.int16();
  const leader = inp.string();
  const leaderUrl = inp.string();
  const configOffset = inp.int64();
  const assigned = readWorkSet(inp);
  // Version 0 (eager) assignments end here.
  const revoked = version >= 1 && inp.remaining > 0 ? readWorkSet(inp) : emptyWorkSet();
  const delay = version >= 1 && inp.remaining >= 4 ? inp.int32() : 0;
  return { version, error, leader, leaderUrl, configOffset, assigned, revoked, delay };
}

export function encodeMetadata(m: MemberMetadata): Buffer {
  return new Out()
    .int16(m.version)
    .string(m.url)
    .int64(m.configOffset)
    .bytes(m.allocation ? encodeAssignment(m.allocation) : null)
    .done();
}

export function decodeMetadata(buf: Buffer): MemberMetadata {
  const inp = new In(buf);
  const version = inp.int16();
  const url = inp.string();
  const configOffset = inp.int64();
  let allocation: Assignment | null = null;
  if (version >= 1 && inp.remaining > 0) {
    const b = inp.bytes();
    allocation = b ? decodeAssignment(b) : null;
  }
  return { version, url, configOffset, allocation };
}

export const taskKey = (t: { connector: string; task: number }): string => `${t.connector}-${t.task}`;
