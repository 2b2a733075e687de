/**
 * Bounded buffering of open files. Every open file appends its encoded
 * records to a SpillBuffer; all buffers of a task share one MemoryBudget.
 * When the bytes held in memory pass the budget, the largest buffers are
 * moved to temporary files on local disk, so memory stays bounded however
 * many partitions (and encoded partitions) are open at once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';

/** Something holding bytes in memory that can move them to disk. */
interface Spillable {
  readonly memBytes: number;
  readonly reading: boolean;
  spill(): void;
  dispose(): void;
}

export class MemoryBudget {
  used = 0;
  spills = 0;
  private readonly buffers = new Set<Spillable>();
  private readonly dir: string;
  private dirReady = false;

  constructor(
    readonly maxBytes: number,
    baseDir: string,
  ) {
    this.dir = path.join(baseDir, `ferry-s3-${process.pid}-${randomUUID().slice(0, 8)}`);
  }

  create(): SpillBuffer {
    const b = new SpillBuffer(this);
    this.buffers.add(b);
    return b;
  }

  /** A buffer of rows (JS values) for formats that need the values back, e.g. Parquet. */
  createRows(): RowBuffer {
    const b = new RowBuffer(this);
    this.buffers.add(b);
    return b;
  }

  /** @internal */
  release(b: Spillable, memBytes: number): void {
    this.used -= memBytes;
    this.buffers.delete(b);
  }

  /** @internal */
  grew(n: number): void {
    this.used += n;
    if (this.used > this.maxBytes) this.relieve();
  }

  /** @internal */
  shrank(n: number): void {
    this.used -= n;
  }

  /** @internal */
  tempPath(): string {
    if (!this.dirReady) {
      fs.mkdirSync(this.dir, { recursive: true });
      this.dirReady = true;
    }
    return path.join(this.dir, `${randomUUID()}.buf`);
  }

  /** Spills the largest buffers until half the budget is free. */
  private relieve(): void {
    const target = this.maxBytes / 2;
    const bySize = [...this.buffers].filter((b) => b.memBytes > 0 && !b.reading).sort((a, b) => b.memBytes - a.memBytes);
    for (const b of bySize) {
      if (this.used <= target) break;
      b.spill();
      this.spills++;
    }
  }

  /** Removes every temporary file. */
  dispose(): void {
    for (const b of this.buffers) b.dispose();
    this.buffers.clear();
    if (this.dirReady) fs.rmSync(this.dir, { recursive: true, force: true });
    this.dirReady = false;
  }
}

export class SpillBuffer implements Spillable {
  private chunks: Buffer[] = [];
  memBytes = 0;
  fileBytes = 0;
  file: string | undefined;
  /** Being read for upload: never spilled from then on (the reader holds a snapshot). */
  reading = false;
  private disposed = false;

  constructor(private readonly budget: MemoryBudget) {}

  get size(): number {
    return this.memBytes + this.fileBytes;
  }

  append(b: Buffer): void {
    this.chunks.push(b);
    this.memBytes += b.length;
    this.budget.grew(b.length);
  }

  /** Moves the in-memory bytes to this buffer's temporary file. */
  spill(): void {
    if (this.memBytes === 0 || this.disposed) return;
    this.file ??= this.budget.tempPath();
    fs.appendFileSync(this.file, Buffer.concat(this.chunks, this.memBytes));
    this.fileBytes += this.memBytes;
    this.budget.shrank(this.memBytes);
    this.chunks = [];
    this.memBytes = 0;
  }

  /** The whole content in one Buffer. */
  async readAll(): Promise<Buffer> {
    this.reading = true;
    const mem = Buffer.concat(this.chunks, this.memBytes);
    if (!this.file) return mem;
    const disk = await fs.promises.readFile(this.file);
    return mem.length ? Buffer.concat([disk, mem]) : disk;
  }

  /** The whole content as a stream (disk part first). */
  stream(): Readable {
    this.reading = true;
    const file = this.file;
    const mem = this.chunks.slice();
    async function* gen() {
      if (file) {
        for await (const c of fs.createReadStream(file, { highWaterMark: 1 << 20 })) yield c as Buffer;
      }
      for (const c of mem) yield c;
    }
    return Readable.from(gen(), { objectMode: false });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.budget.release(this, this.memBytes);
    this.chunks = [];
    this.memBytes = 0;
    if (this.file) fs.rmSync(this.file, { force: true });
    this.file = undefined;
  }
}

/** Rough in-memory size of a value, for the budget (no serialization). */
export function estimateSize(v: unknown, depth = 0): number {
  if (v === null || v === undefined) return 8;
  switch (typeof v) {
    case 'string':
      return 16 + v.length * 2;
    case 'number':
    case 'boolean':
      return 8;
    case 'bigint':
      return 24;
    case 'object': {
      if (v instanceof Uint8Array) return 64 + v.byteLength;
      if (v instanceof Date) return 32;
      if (depth > 8) return 64;
      let n = 32;
      if (Array.isArray(v)) for (const x of v) n += 8 + estimateSize(x, depth + 1);
      else if (v instanceof Map) for (const [k, x] of v) n += estimateSize(k, depth + 1) + estimateSize(x, depth + 1);
      else for (const k in v as object) n += 16 + k.length + estimateSize((v as Record<string, unknown>)[k], depth + 1);
      return n;
    }
    default:
      return 16;
  }
}

/**
 * Rows kept as JS values while in memory (no serialization on the hot
 * path); when spilled, the rows are serialized in one batch (v8 structured
 * serialization keeps Buffers, Dates, bigints and Maps) and appended to a
 * temporary file as one length-prefixed frame.
 */
export class RowBuffer implements Spillable {
  private rows: unknown[] = [];
  memBytes = 0;
  fileBytes = 0;
  private file: string | undefined;
  reading = false;
  private disposed = false;

  constructor(private readonly budget: MemoryBudget) {}

  get size(): number {
    return this.memBytes + this.fileBytes;
  }

  push(row: unknown): void {
    this.rows.push(row);
    const n = estimateSize(row);
    this.memBytes += n;
    this.budget.grew(n);
  }

  spill(): void {
    if (this.memBytes === 0 || this.disposed || !this.rows.length) return;
    this.file ??= this.budget.tempPath();
    const body = v8.serialize(this.rows);
    const h = Buffer.allocUnsafe(4);
    h.writeUInt32LE(body.length, 0);
    fs.appendFileSync(this.file, Buffer.concat([h, body]));
    this.fileBytes += body.length + 4;
    this.budget.shrank(this.memBytes);
    this.rows = [];
    this.memBytes = 0;
  }

  /** Every row in order: spilled batches first, then the in-memory ones. */
  *all(): Generator<unknown> {
    this.reading = true;
    if (this.file) {
      const data = fs.readFileSync(this.file);
      let pos = 0;
      while (pos + 4 <= data.length) {
        const len = data.readUInt32LE(pos);
        const batch = v8.deserialize(data.subarray(pos + 4, pos + 4 + len)) as unknown[];
        pos += 4 + len;
        yield* batch;
      }
    }
    yield* this.rows;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.budget.release(this, this.memBytes);
    this.rows = [];
    this.memBytes = 0;
    if (this.file) fs.rmSync(this.file, { force: true });
    this.file = undefined;
  }
}
