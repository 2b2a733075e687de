/**
 * S3SourceTask. Restore mode replays the objects S3Sink wrote, per Kafka
 * partition in offset order, to the original partition; generic mode reads
 * every object under a prefix in key order. Offsets: restore keeps the last
 * Kafka offset produced per partition; generic keeps (object key, records
 * read from it), so a restart resumes mid-object.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import {
  abortableSleep,
  ConnectError,
  type Logger,
  type SourceOffset,
  type SourceRecord,
  type SourceTask,
  type SourceTaskContext,
  type TaskConfig,
} from '@ferry/core';
import { createS3Client, toConnectError } from './connection.js';
import { resolveFormat, type FormatName } from './formats.js';
import { parseObjectKey, type ParsedKey } from './keys.js';
import { unescapeSeparator } from './sink-config.js';
import { SourceOptions, resolveMode, type SourceSettings, type Unit } from './source-config.js';
import { getObject, lines, listKeys, matchesFormat, readStoredObject, type StoredRecord } from './source-readers.js';
import { RestoreJob } from './source-restore-job.js';

const IDLE = Symbol('idle');
type Item = SourceRecord | typeof IDLE;

interface Stream {
  name: string;
  make: () => AsyncGenerator<Item>;
  it: AsyncGenerator<Item>;
  idleUntil: number;
}

interface Lane {
  /** Last Kafka offset (or synthetic position) produced. */
  last: number;
  /** Keys fully read, not to be read again. */
  done: Set<string>;
}

/** A small binary min-heap. */
class Heap<T> {
  private a: T[] = [];
  constructor(private readonly less: (x: T, y: T) => boolean) {}
  get size(): number {
    return this.a.length;
  }
  peek(): T | undefined {
    return this.a[0];
  }
  push(v: T): void {
    const a = this.a;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l], a[m])) m = l;
        if (r < a.length && this.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

interface Pending {
  offset: number;
  file: number;
  idx: number;
  rec: StoredRecord;
}

export class S3SourceTask implements SourceTask {
  private cfg!: SourceSettings;
  private ctx!: SourceTaskContext;
  private log!: Logger;
  private client!: S3Client;
  private format!: FormatName;
  private streams: Stream[] = [];
  private next = 0;
  private readonly lanes = new Map<string, Lane>();
  private readonly progress = new Map<string, { key: string; position: number }>();
  private stopped = false;
  private job: RestoreJob | undefined;

  async start(config: TaskConfig, context: SourceTaskContext): Promise<void> {
    this.cfg = SourceOptions.parse(config);
    this.ctx = context;
    this.log = context.logger;
    this.client = createS3Client(this.cfg);
    this.format = resolveFormat(this.cfg['format.class']) ?? 'json';
    const units = JSON.parse(this.cfg['s3.source.units'] ?? '[]') as Unit[];
    const mode = resolveMode(this.cfg.mode);
    if (mode === 'restore' && this.cfg['restore.chunked']) {
      if (!context.jobs) throw new ConnectError('restore.chunked needs the worker\'s job facility, which this runtime does not offer');
      this.job = await RestoreJob.submit(context.jobs, this.cfg, units, this.log);
      return;
    }
    const all: Unit[] = units.length
      ? units
      : mode === 'generic'
        ? this.cfg['s3.prefix'].map((p) => ({ kind: 'generic' as const, prefix: p === '/' ? '' : p }))
        : [];
    for (const u of all) {
      const make = u.kind === 'restore' ? () => this.restoreUnit(u.topic, u.dir) : () => this.genericUnit(u.prefix);
      const name = u.kind === 'restore' ? u.dir : u.prefix;
      this.streams.push({ name, make, it: make(), idleUntil: 0 });
    }
  }

  async poll(): Promise<SourceRecord[]> {
    if (this.job) {
      // Chunks deliver the records; the task only watches the job.
      await this.job.check();
      await abortableSleep(500, this.ctx.signal);
      return [];
    }
    const out: SourceRecord[] = [];
    const max = this.cfg['record.batch.max.size'];
    const n = this.streams.length;
    for (let i = 0; i < n && out.length < max && !this.ctx.signal.aborted; i++) {
      const s = this.streams[(this.next + i) % n];
      if (s.idleUntil > Date.now()) continue;
      try {
        while (out.length < max) {
          const r = await s.it.next();
          if (r.done || r.value === IDLE) {
            s.idleUntil = Date.now() + this.cfg['s3.poll.interval.ms'];
            if (r.done) s.it = s.make();
            break;
          }
          out.push(r.value);
        }
      } catch (err) {
        // Restart this stream from what was produced so far on the next poll.
        s.it = s.make();
        if (out.length) break;
        throw toConnectError(err, `reading s3://${this.cfg['s3.bucket.name']}/${s.name}`, this.cfg);
      }
    }
    this.next = (this.next + 1) % Math.max(1, n);
    if (!out.length && !this.ctx.signal.aborted) {
      const wake = Math.min(...this.streams.map((s) => s.idleUntil), Date.now() + 1000);
      await abortableSleep(Math.max(10, Math.min(1000, wake - Date.now())), this.ctx.signal);
    }
    return out;
  }

  private async lane(topic: string, partition: number): Promise<Lane> {
    const id = `${topic}/${partition}`;
    let lane = this.lanes.get(id);
    if (!lane) {
      const stored = (await this.ctx.offsetReader.offset(this.restorePartition(topic, partition))) as { offset?: number } | null;
      lane = { last: typeof stored?.offset === 'number' ? stored.offset : -1, done: new Set() };
      this.lanes.set(id, lane);
    }
    return lane;
  }

  private restorePartition(topic: string, partition: number) {
    return { bucket: this.cfg['s3.bucket.name'], dir: this.cfg['topics.dir'], topic, partition };
  }

  private targetTopic(topic: string): string {
    return this.cfg['topic.rename.format'].split('${topic}').join(topic);
  }

  /** Reads one object fully into stored records. */
  private readObject(key: string, mode: 'restore' | 'generic'): Promise<StoredRecord[]> {
    return readStoredObject(this.client, this.cfg['s3.bucket.name'], key, this.format, mode, unescapeSeparator(this.cfg['format.bytearray.separator']));
  }

  private async *restoreUnit(topic: string, dir: string): AsyncGenerator<Item> {
    const bucket = this.cfg['s3.bucket.name'];
    for (;;) {
      const byPartition = new Map<number, ParsedKey[]>();
      for await (const o of listKeys(this.client, bucket, dir)) {
        const p = parseObjectKey(o.key);
        if (!p || p.topic !== topic || !matchesFormat(o.key, this.format)) continue;
        let arr = byPartition.get(p.partition);
        if (!arr) byPartition.set(p.partition, (arr = []));
        arr.push(p);
      }
      for (const [partition, files] of [...byPartition.entries()].sort((a, b) => a[0] - b[0])) {
        yield* this.restorePartitionFiles(topic, partition, files);
      }
      yield IDLE;
    }
  }

  private async *restorePartitionFiles(topic: string, partition: number, all: ParsedKey[]): AsyncGenerator<Item> {
    const lane = await this.lane(topic, partition);
    all.sort((a, b) => a.startOffset - b.startOffset || (a.key < b.key ? -1 : 1));
    // Within one folder files never overlap: a file is behind us when the
    // next file of its folder starts at or before the next offset to produce.
    const nextInDir = new Map<ParsedKey, number>();
    const lastByDir = new Map<string, ParsedKey>();
    for (const f of all) {
      const prev = lastByDir.get(f.dir);
      if (prev) nextInDir.set(prev, f.startOffset);
      lastByDir.set(f.dir, f);
    }
    const files = all.filter((f) => !lane.done.has(f.key) && !((nextInDir.get(f) ?? Infinity) <= lane.last + 1));
    const heap = new Heap<Pending>((x, y) => x.offset < y.offset || (x.offset === y.offset && (x.file < y.file || (x.file === y.file && x.idx < y.idx))));
    const remaining = new Map<number, number>();
    let i = 0;
    const sp = this.restorePartition(topic, partition);
    const target = this.targetTopic(topic);
    for (;;) {
      while (i < files.length && (heap.size === 0 || files[i].startOffset <= heap.peek()!.offset)) {
        const f = files[i];
        const recs = await this.readObject(f.key, 'restore');
        remaining.set(i, recs.length);
        if (!recs.length) lane.done.add(f.key);
        recs.forEach((rec, idx) => heap.push({ offset: rec.offset ?? f.startOffset + idx, file: i, idx, rec }));
        i++;
      }
      const top = heap.pop();
      if (!top) return;
      const left = remaining.get(top.file)! - 1;
      remaining.set(top.file, left);
      if (left === 0) lane.done.add(files[top.file].key);
      if (top.offset <= lane.last) continue;
      lane.last = top.offset;
      const r = top.rec;
      const out: SourceRecord = {
        topic: target,
        kafkaPartition: r.partition ?? partition,
        key: r.key,
        keySchema: r.keySchema,
        value: r.value,
        valueSchema: r.valueSchema,
        timestamp: r.timestamp,
        sourcePartition: sp,
        sourceOffset: { offset: top.offset },
      };
      if (r.headers) out.headers = r.headers;
      yield out;
    }
  }

  private async *genericUnit(prefix: string): AsyncGenerator<Item> {
    const bucket = this.cfg['s3.bucket.name'];
    const sp = { bucket, prefix };
    let prog = this.progress.get(prefix);
    if (!prog) {
      const stored = (await this.ctx.offsetReader.offset(sp)) as { key?: string; position?: number } | null;
      prog = { key: stored?.key ?? '', position: stored?.position ?? 0 };
      this.progress.set(prefix, prog);
    }
    const p = prog;
    const topic = this.cfg['kafka.topic']!;
    const emit = async function* (this: S3SourceTask, key: string, skip: number): AsyncGenerator<Item> {
      let pos = 0;
      const make = (rec: StoredRecord): SourceRecord => ({
        topic,
        key: null,
        value: rec.value,
        valueSchema: rec.valueSchema,
        sourcePartition: sp,
        sourceOffset: { key, position: pos } as SourceOffset,
      });
      if (this.format === 'json') {
        // Streamed line by line: a large object never sits in memory whole.
        const { body } = await getObject(this.client, bucket, key);
        for await (const line of lines(body, key.endsWith('.gz'))) {
          pos++;
          if (pos <= skip) continue;
          p.key = key;
          p.position = pos;
          yield make({ key: null, keySchema: null, value: JSON.parse(line), valueSchema: null, timestamp: null });
        }
      } else {
        for (const rec of await this.readObject(key, 'generic')) {
          pos++;
          if (pos <= skip) continue;
          p.key = key;
          p.position = pos;
          yield make(rec);
        }
      }
      p.key = key;
      p.position = Math.max(pos, skip);
    }.bind(this);
    if (p.key) {
      // Finish the object we were in (a restart lands mid-object).
      try {
        yield* emit(p.key, p.position);
      } catch (err) {
        if ((err as { name?: string }).name !== 'NoSuchKey') throw err;
      }
    }
    for (;;) {
      for await (const o of listKeys(this.client, bucket, prefix, p.key || undefined)) {
        if (!matchesFormat(o.key, this.format)) continue;
        yield* emit(o.key, 0);
      }
      yield IDLE;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.client?.destroy();
  }
}
