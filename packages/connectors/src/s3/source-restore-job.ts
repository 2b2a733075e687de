/**
 * Restore as a chunked job (`restore.chunked=true`): the task lists the
 * objects of its units once, plans chunks of objects (all objects of one
 * Kafka partition, or `restore.chunk.objects` of them) and hands the plan to
 * the runtime's job facility, which runs the chunks on any worker and writes
 * each page of records with its chunk position atomically (exactly once).
 *
 * Chunks carry a stable id derived from their first object, and positions
 * are (object index in the chunk, record index in the object), so a plan
 * rebuilt after a restart resumes each chunk where its last page left it.
 * Files of one folder never overlap: a record at or beyond the next file's
 * start offset in the same folder belongs to that file and is skipped here.
 */
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  ConnectError,
  type ChunkContext,
  type ChunkJobHandle,
  type ChunkJobs,
  type ChunkPlanItem,
  type JsonObject,
  type Logger,
  type SourceRecord,
} from '@ferry/core';
import { createS3Client, toConnectError } from './connection.js';
import { resolveFormat, type FormatName } from './formats.js';
import { parseObjectKey, type ParsedKey } from './keys.js';
import { unescapeSeparator } from './sink-config.js';
import { SourceOptions, type SourceSettings, type Unit } from './source-config.js';
import { listKeys, matchesFormat, readStoredObject } from './source-readers.js';

export const RESTORE_WORK = 'restore';

/** One object of a chunk: records at offsets from `start` up to (not including) `until` (the next file of its folder). */
interface PlannedObject {
  key: string;
  start: number;
  until: number | null;
}

interface RestoreChunk extends JsonObject {
  topic: string;
  partition: number;
  objects: Array<PlannedObject & JsonObject>;
}

interface Position extends JsonObject {
  object: number;
  record: number;
}

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

/** Lists the objects of the units and groups them into chunks. */
export async function planRestore(client: S3Client, cfg: SourceSettings, units: Unit[], format: FormatName): Promise<ChunkPlanItem[]> {
  const bucket = cfg['s3.bucket.name'];
  const per = cfg['restore.chunk.objects'];
  const items: ChunkPlanItem[] = [];
  for (const u of units) {
    if (u.kind !== 'restore') continue;
    const byPartition = new Map<number, ParsedKey[]>();
    for await (const o of listKeys(client, bucket, u.dir)) {
      const p = parseObjectKey(o.key);
      if (!p || p.topic !== u.topic || !matchesFormat(o.key, format)) continue;
      let arr = byPartition.get(p.partition);
      if (!arr) byPartition.set(p.partition, (arr = []));
      arr.push(p);
    }
    for (const [partition, files] of [...byPartition.entries()].sort((a, b) => a[0] - b[0])) {
      files.sort((a, b) => a.startOffset - b.startOffset || (a.key < b.key ? -1 : 1));
      const nextStart = new Map<ParsedKey, number>();
      const lastInDir = new Map<string, ParsedKey>();
      for (const f of files) {
        const prev = lastInDir.get(f.dir);
        if (prev) nextStart.set(prev, f.startOffset);
        lastInDir.set(f.dir, f);
      }
      const planned: PlannedObject[] = files.map((f) => ({ key: f.key, start: f.startOffset, until: nextStart.get(f) ?? null }));
      const size = per > 0 ? per : planned.length;
      for (let i = 0; i < planned.length; i += size) {
        const objects = planned.slice(i, i + size) as Array<PlannedObject & JsonObject>;
        const chunk: RestoreChunk = { topic: u.topic, partition, objects };
        items.push({
          chunk,
          id: shortHash(`${u.topic}\n${partition}\n${objects[0]!.key}`),
          label: `${u.topic}/${partition} from offset ${objects[0]!.start} (${objects.length} object${objects.length === 1 ? '' : 's'})`,
        });
      }
    }
  }
  return items;
}

/** The task's side: plan once, submit, then report the job's end. */
export class RestoreJob {
  private ended: 'completed' | 'cancelled' | undefined;

  private constructor(
    private readonly handle: ChunkJobHandle,
    private readonly log: Logger,
  ) {}

  static async submit(jobs: ChunkJobs, cfg: SourceSettings, units: Unit[], log: Logger): Promise<RestoreJob> {
    const format = resolveFormat(cfg['format.class']) ?? 'json';
    const client = createS3Client(cfg);
    let items: ChunkPlanItem[];
    try {
      items = await planRestore(client, cfg, units, format);
    } catch (err) {
      throw toConnectError(err, `listing s3://${cfg['s3.bucket.name']}/${cfg['topics.dir']}`, cfg);
    } finally {
      client.destroy();
    }
    // The same units give the same key: a restarted task attaches to its job (or resumes its chunks).
    const key = `restore-${shortHash(JSON.stringify({ bucket: cfg['s3.bucket.name'], units, rename: cfg['topic.rename.format'], per: cfg['restore.chunk.objects'] }))}`;
    const handle = await jobs.submit({ work: RESTORE_WORK, key, chunks: items });
    log.info({ job: handle.id, chunks: items.length, distributed: jobs.distributed }, 'Restore submitted as chunked job');
    return new RestoreJob(handle, log);
  }

  /** 'running' until every chunk is done; throws when the job failed. */
  async check(): Promise<'running' | 'completed' | 'cancelled'> {
    // An ended job is not asked again: its records may be removed after the worker's job retention.
    if (this.ended) return this.ended;
    const s = await this.handle.status();
    if (s.state === 'failed') throw new ConnectError(`Restore job ${s.id} failed (${s.chunks.failed} of ${s.chunks.total} chunks): ${s.error ?? 'unknown error'}`);
    if (s.state === 'completed' || s.state === 'cancelled') {
      this.log.info({ job: s.id, rows: s.rows, state: s.state }, 'Restore job ended');
      this.ended = s.state;
      return s.state;
    }
    return 'running';
  }
}

/** Runs one restore chunk: its objects in order, a page per `record.batch.max.size` records. */
export async function runRestoreChunk(ctx: ChunkContext): Promise<void> {
  const cfg = SourceOptions.parse(ctx.config);
  const format = resolveFormat(cfg['format.class']) ?? 'json';
  const chunk = ctx.chunk as RestoreChunk;
  const from = (ctx.resumeFrom as Position | null) ?? { object: 0, record: 0 };
  const bucket = cfg['s3.bucket.name'];
  const target = cfg['topic.rename.format'].split('${topic}').join(chunk.topic);
  const page = cfg['record.batch.max.size'];
  const sep = unescapeSeparator(cfg['format.bytearray.separator']);
  const sp = { bucket, dir: cfg['topics.dir'], topic: chunk.topic, partition: chunk.partition };
  const client = createS3Client(cfg);
  try {
    for (let oi = from.object; oi < chunk.objects.length; oi++) {
      if (ctx.signal.aborted) return;
      const o = chunk.objects[oi]!;
      let recs;
      try {
        recs = await readStoredObject(client, bucket, o.key, format, 'restore', sep);
      } catch (err) {
        throw toConnectError(err, `reading s3://${bucket}/${o.key}`, cfg);
      }
      let ri = oi === from.object ? from.record : 0;
      while (ri < recs.length) {
        if (ctx.signal.aborted) return;
        const end = Math.min(recs.length, ri + page);
        const out: SourceRecord[] = [];
        for (let i = ri; i < end; i++) {
          const r = recs[i]!;
          const offset = r.offset ?? o.start + i;
          if (o.until !== null && offset >= o.until) continue;
          const rec: SourceRecord = {
            topic: target,
            kafkaPartition: r.partition ?? chunk.partition,
            key: r.key,
            keySchema: r.keySchema,
            value: r.value,
            valueSchema: r.valueSchema,
            timestamp: r.timestamp,
            sourcePartition: sp,
            sourceOffset: { offset },
          };
          if (r.headers) rec.headers = r.headers;
          out.push(rec);
        }
        ri = end;
        // The position after this page: the next object once this one is through.
        const pos: Position = ri >= recs.length ? { object: oi + 1, record: 0 } : { object: oi, record: ri };
        await ctx.emit(out, pos);
      }
      if (recs.length === 0) await ctx.emit([], { object: oi + 1, record: 0 });
    }
  } finally {
    client.destroy();
  }
}
