/** Helpers for the PostgreSQL connector tests (real server on 127.0.0.1:5432). */
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import {
  silentLogger,
  type CommittedOffset,
  type OffsetStorageReader,
  type SinkRecord,
  type SinkTaskContext,
  type SourceOffset,
  type SourcePartition,
  type SourceRecord,
  type SourceTask,
  type SourceTaskContext,
  type TopicPartition,
  type TopicPartitionOffset,
} from '@ferry/core';

export const PG_URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export function uid(): string {
  return randomBytes(4).toString('hex');
}

export async function admin(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: PG_URL });
  c.on('error', () => {});
  await c.connect();
  await c.query(`SET TimeZone = 'UTC'`);
  return c;
}

/** An in-memory offset store shared by successive task instances (as the runtime's would be). */
export class MemoryOffsets implements OffsetStorageReader {
  readonly map = new Map<string, SourceOffset>();
  async offset(partition: SourcePartition): Promise<SourceOffset | null> {
    return this.map.get(JSON.stringify(partition)) ?? null;
  }
  async offsets(partitions: SourcePartition[]): Promise<Map<SourcePartition, SourceOffset>> {
    const out = new Map<SourcePartition, SourceOffset>();
    for (const p of partitions) {
      const o = this.map.get(JSON.stringify(p));
      if (o) out.set(p, o);
    }
    return out;
  }
  /** Stores the offsets of delivered records (the last one per partition wins) and returns what a runtime would pass to commit(). */
  store(records: SourceRecord[]): CommittedOffset[] {
    const latest = new Map<string, CommittedOffset>();
    for (const r of records) {
      const k = JSON.stringify(r.sourcePartition);
      this.map.set(k, r.sourceOffset);
      latest.set(k, { partition: r.sourcePartition, offset: r.sourceOffset });
    }
    return [...latest.values()];
  }
}

export function sourceContext(offsets: OffsetStorageReader, taskId = 0): SourceTaskContext & { abort(): void } {
  const ac = new AbortController();
  return { connectorName: 'test-' + uid(), taskId, logger: silentLogger, offsetReader: offsets, signal: ac.signal, abort: () => ac.abort() };
}

/** Polls until `until(all)` holds or the timeout passes; returns everything polled. */
export async function pollUntil(
  task: SourceTask,
  until: (all: SourceRecord[]) => boolean,
  opts: { timeoutMs?: number; offsets?: MemoryOffsets; commit?: boolean } = {},
): Promise<SourceRecord[]> {
  const all: SourceRecord[] = [];
  const deadline = Date.now() + (opts.timeoutMs ?? 20000);
  while (!until(all)) {
    if (Date.now() > deadline) throw new Error(`pollUntil timed out after ${all.length} records`);
    const batch = (await task.poll()) ?? [];
    all.push(...batch);
    if (opts.offsets && batch.length) {
      const committed = opts.offsets.store(batch);
      if (opts.commit !== false) await task.commit?.(committed);
    }
  }
  return all;
}

export interface FakeSinkContext extends SinkTaskContext {
  seeks: TopicPartitionOffset[];
  reported: Array<{ record: SinkRecord; error: Error }>;
}

export function sinkContext(opts: { name?: string; reporter?: boolean; assignment?: TopicPartition[] } = {}): FakeSinkContext {
  const ac = new AbortController();
  const seeks: TopicPartitionOffset[] = [];
  const reported: Array<{ record: SinkRecord; error: Error }> = [];
  const ctx: FakeSinkContext = {
    connectorName: opts.name ?? 'sink-' + uid(),
    taskId: 0,
    logger: silentLogger,
    signal: ac.signal,
    assignment: () => opts.assignment ?? [],
    pause() {},
    resume() {},
    requestCommit() {},
    offset(o) {
      seeks.push(...o);
    },
    seeks,
    reported,
  };
  if (opts.reporter) {
    (ctx as { errantRecordReporter?: SinkTaskContext['errantRecordReporter'] }).errantRecordReporter = {
      async report(record, error) {
        reported.push({ record, error });
      },
    };
  }
  return ctx;
}

/** Waits until `cond()` holds, checking every `everyMs`; fails with `what` once `timeoutMs` has passed. */
export async function waitFor(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 20000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
