/**
 * The change-data-capture task: an optional snapshot, then the pgoutput
 * stream of the slot turned into Debezium-style change events.
 *
 * Offsets (one source partition `{server: topic.prefix}`):
 * - during the snapshot `{snapshot: true, lsn, table, after}`: the last row delivered;
 * - while streaming `{lsn, txId, event}`: `lsn` is the commit LSN of the
 *   transaction, `event` the index of the record within it (-1: none of it).
 *   Replayed records at or before the stored position are skipped, so
 *   several rows changed by one transaction are neither lost nor repeated.
 * The slot's flush position moves only in `commit()`, to the stored `lsn`
 * (that transaction itself is replayed and deduplicated after a restart).
 */
import type pg from 'pg';
import type { Pgoutput } from 'pg-logical-replication';
import {
  ConfigError,
  ConnectError,
  NotConnectedError,
  type Logger,
  type CommittedOffset,
  type SourceOffset,
  type SourceRecord,
  type SourceSignal,
  type SourceTask,
  type SourceTaskContext,
  type TaskConfig,
} from '@ferry/core';
import { closeQuietly, connect, mapQueryError, parseTableName, qualified, tableKey, type TableName } from './connection.js';
import { describeTable } from './catalog.js';
import { PostgresCdcConfig, type PostgresCdcOptions } from './cdc-config.js';
import {
  buildShape,
  decodeTuple,
  envelope,
  HEARTBEAT_KEY_SCHEMA,
  HEARTBEAT_VALUE_SCHEMA,
  keyOf,
  type SourceInfo,
  type TableShape,
} from './cdc-events.js';
import { checkWalLevel, createSlot, createSlotWithSnapshot, ensurePublication, publicationTables, slotInfo } from './cdc-setup.js';
import { Snapshotter } from './cdc-snapshot.js';
import { SnapshotJob } from './cdc-snapshot-job.js';
import { IncrementalSnapshot } from './cdc-incremental.js';
import { formatLsn, parseLsn, ReplicationStream } from './cdc-stream.js';
import { PgTypes } from './types.js';

type InboxItem = { walStart: bigint; msg: Pgoutput.Message } | { keepalive: bigint };

interface Txn {
  xid: number;
  commitLsn: bigint;
  tsMs: number;
  index: number;
}

export class PostgresCdcTask implements SourceTask {
  private cfg!: PostgresCdcOptions;
  private ctx!: SourceTaskContext;
  private log!: Logger;
  private partition!: Record<string, unknown>;
  private meta?: pg.Client;
  private db = '';
  private readonly types = new PgTypes();
  private include: Set<string> | null = null;
  private phase: 'snapshot' | 'jobs' | 'streaming' | 'done' = 'streaming';
  private job?: SnapshotJob;
  private incr?: IncrementalSnapshot;
  private signalTable: TableName | null = null;
  private readonly signalOids = new Set<number>();
  /** The record carrying the offset of a just-submitted snapshot job. */
  private jobRecord?: SourceRecord;
  private snapshot?: Snapshotter;
  private stream?: ReplicationStream;
  private streamError?: Error;
  private readonly inbox: InboxItem[] = [];
  private wake?: () => void;
  private readonly relations = new Map<number, TableShape | null>();
  private receivingTxn = false;
  private txn?: Txn;
  /** Records at or before this position were already delivered: skip them. */
  private resume = { lsn: 0n, event: -1 };
  /** Everything that commits before this LSN has been turned into records. */
  private safeLsn = 0n;
  /** LSN of the newest offset handed out. */
  private lastOffsetLsn = 0n;
  private lastHeartbeat = Date.now();
  /** To reopen a snapshot whose connection failed: its LSN and the last snapshot offset handed out. */
  private snapshotLsn = 0n;
  private lastSnapshotOffset?: SourceOffset;

  async start(config: TaskConfig, ctx: SourceTaskContext): Promise<void> {
    this.cfg = PostgresCdcConfig.parse(config);
    this.ctx = ctx;
    this.log = ctx.logger;
    this.partition = { server: this.cfg['topic.prefix'] };
    const list = this.cfg['table.include.list'];
    this.include = list?.length ? new Set(list.map((t) => tableKey(parseTableName(t)))) : null;
    const signal = this.cfg['signal.data.collection'];
    this.signalTable = signal ? parseTableName(signal) : null;
    if (this.signalTable) {
      this.incr = new IncrementalSnapshot({
        prefix: this.cfg['topic.prefix'],
        db: () => this.db,
        signalTable: this.signalTable,
        chunkSize: this.cfg['incremental.snapshot.chunk.size'],
        types: this.types,
        log: this.log,
      });
    }
    const meta = await connect(this.cfg);
    this.meta = meta;
    try {
      await checkWalLevel(meta);
      this.db = (await meta.query('SELECT current_database() AS db')).rows[0].db;
      await this.setUp(meta);
      if (this.snapshot) this.snapshotLsn = this.snapshot.lsn;
    } catch (err) {
      await this.stop();
      throw err instanceof ConnectError ? err : mapQueryError(err, 'Starting change data capture');
    }
  }

  private includedTables(): TableName[] {
    return (this.cfg['table.include.list'] ?? []).map((t) => parseTableName(t));
  }

  private async snapshotTables(meta: pg.Client): Promise<TableName[]> {
    const pub = await publicationTables(meta, this.cfg['publication.name']);
    if (!this.include) return pub;
    return this.includedTables();
  }

  private async setUp(meta: pg.Client): Promise<void> {
    const slot = this.cfg['slot.name'];
    const mode = this.cfg['snapshot.mode'];
    const offset = await this.ctx.offsetReader.offset(this.partition);
    if (mode !== 'initial_only') await ensurePublication(meta, this.cfg, this.signalTable ? [...this.includedTables(), this.signalTable] : this.includedTables());
    const info = await slotInfo(meta, slot);
    const snapOpts = this.snapOptions();

    if (offset && offset.snapshot === 'jobs' && this.ctx.jobs) {
      if (mode !== 'initial_only' && !info.exists) throw this.slotLost(slot);
      this.job = await SnapshotJob.resume(this.ctx.jobs, offset, this.log);
      this.phase = 'jobs';
      return;
    }
    if (offset && offset.snapshot === true) {
      // Killed during the snapshot: resume it after the last delivered row. The rows still to read come
      // from a newer snapshot than the slot's start; replaying the slot from its start afterwards
      // re-applies the changes in between in order, so a keyed target converges to the same state.
      if (mode !== 'initial_only' && !info.exists) throw this.slotLost(slot);
      this.log.info({ table: offset.table }, 'Resuming the snapshot');
      this.lastSnapshotOffset = offset;
      this.snapshot = await Snapshotter.open(await this.snapshotTables(meta), {
        ...snapOpts,
        lsn: BigInt(Number(offset.lsn ?? 0)),
        resume: { table: String(offset.table), after: (offset.after as string[] | null) ?? null },
      });
      this.phase = 'snapshot';
      return;
    }
    if (offset) {
      if (mode === 'initial_only') {
        this.phase = 'done';
        return;
      }
      if (!info.exists) throw this.slotLost(slot);
      this.resume = { lsn: BigInt(Number(offset.lsn ?? 0)), event: Number(offset.event ?? -1) };
      this.lastOffsetLsn = this.resume.lsn;
      this.incr?.restore(offset.incremental);
      this.phase = 'streaming';
      return;
    }
    if (mode === 'never') {
      if (!info.exists) await createSlot(meta, slot);
      this.phase = 'streaming';
      return;
    }
    if (this.parallel()) {
      await this.submitSnapshotJob(meta, info.exists, info.confirmedFlush);
      return;
    }
    if (mode === 'initial_only') {
      this.snapshot = await Snapshotter.open(await this.snapshotTables(meta), { ...snapOpts, lsn: 0n });
      this.phase = 'snapshot';
      return;
    }
    // initial, nothing delivered yet
    if (!info.exists) {
      const exported = await createSlotWithSnapshot(this.cfg, slot);
      try {
        this.log.info({ slot, lsn: formatLsn(exported.consistentPoint) }, 'Created replication slot; snapshot follows');
        this.snapshot = await Snapshotter.open(await this.snapshotTables(meta), {
          ...snapOpts,
          lsn: exported.consistentPoint,
          snapshotName: exported.snapshotName,
        });
      } finally {
        await exported.release();
      }
    } else {
      // The slot exists but no offset was stored (e.g. killed before the first one): a fresh snapshot,
      // then the slot replays from its confirmed position, which is not after that snapshot.
      this.snapshot = await Snapshotter.open(await this.snapshotTables(meta), { ...snapOpts, lsn: info.confirmedFlush });
    }
    this.phase = 'snapshot';
  }

  /** Above one thread, with the runtime's job facility: the snapshot runs as a chunked job. */
  private parallel(): boolean {
    return this.cfg['snapshot.max.threads'] > 1 && this.ctx.jobs !== undefined;
  }

  private async submitSnapshotJob(meta: pg.Client, slotExists: boolean, confirmedFlush: bigint): Promise<void> {
    const slot = this.cfg['slot.name'];
    const tables = await this.snapshotTables(meta);
    let holder: { release(): Promise<void> };
    let snapshotName: string;
    let lsn: bigint;
    if (this.cfg['snapshot.mode'] !== 'initial_only' && !slotExists) {
      // The replication connection keeps the exported snapshot importable until it is released.
      const exported = await createSlotWithSnapshot(this.cfg, slot);
      this.log.info({ slot, lsn: formatLsn(exported.consistentPoint) }, 'Created replication slot; parallel snapshot follows');
      holder = exported;
      snapshotName = exported.snapshotName;
      lsn = exported.consistentPoint;
    } else {
      const c = await connect(this.cfg);
      try {
        await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        snapshotName = (await c.query('SELECT pg_catalog.pg_export_snapshot() AS s')).rows[0].s;
      } catch (err) {
        await closeQuietly(c);
        throw err;
      }
      holder = { release: () => closeQuietly(c) };
      lsn = this.cfg['snapshot.mode'] === 'initial_only' ? 0n : confirmedFlush;
    }
    this.job = await SnapshotJob.submit(this.ctx.jobs!, this.cfg, tables, { lsn, snapshotName, holder, log: this.log });
    this.jobRecord = this.offsetRecord(this.job.offset);
    this.phase = 'jobs';
  }

  /** A heartbeat record: how an offset change without a row reaches the offset store. */
  private offsetRecord(offset: SourceOffset): SourceRecord {
    const prefix = this.cfg['topic.prefix'];
    return {
      sourcePartition: this.partition,
      sourceOffset: offset,
      topic: `${this.cfg['heartbeat.topics.prefix']}.${prefix}`,
      keySchema: HEARTBEAT_KEY_SCHEMA,
      key: { serverName: prefix },
      valueSchema: HEARTBEAT_VALUE_SCHEMA,
      value: { ts_ms: Date.now() },
      timestamp: Date.now(),
    };
  }

  private async pollJob(): Promise<SourceRecord[]> {
    if (this.jobRecord) {
      const r = this.jobRecord;
      this.jobRecord = undefined;
      return [r];
    }
    const job = this.job!;
    const state = await job.check();
    if (state === 'running') {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.min(this.cfg['poll.interval.ms'], 500));
        const signal = this.ctx.signal;
        function done() {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
      return [];
    }
    if (state === 'cancelled') this.log.warn('The snapshot job was cancelled: rows it had not copied are missing; streaming starts');
    else this.log.info('Parallel snapshot complete');
    this.job = undefined;
    this.resume = { lsn: job.lsn, event: -1 };
    this.lastOffsetLsn = job.lsn;
    this.phase = this.cfg['snapshot.mode'] === 'initial_only' ? 'done' : 'streaming';
    return [this.offsetRecord({ lsn: Number(job.lsn), txId: job.txId, event: -1 })];
  }

  private slotLost(slot: string): Error {
    return new ConnectError(
      `Replication slot ${slot} does not exist but offsets of ${this.cfg['topic.prefix']} refer to it: changes may have been lost. ` +
        'Reset the connector offsets to take a new snapshot.',
    );
  }

  async poll(): Promise<SourceRecord[]> {
    if (this.ctx.signal.aborted) return [];
    if (this.phase === 'snapshot') return this.pollSnapshot();
    if (this.phase === 'jobs') return this.pollJob();
    if (this.phase === 'done') {
      await new Promise((r) => setTimeout(r, Math.min(this.cfg['poll.interval.ms'], 1000)));
      return [];
    }
    return this.pollStream();
  }

  private snapOptions() {
    return {
      conn: this.cfg,
      prefix: this.cfg['topic.prefix'],
      partition: this.partition,
      fetchSize: this.cfg['snapshot.fetch.size'],
      types: this.types,
    };
  }

  private async pollSnapshot(): Promise<SourceRecord[]> {
    if (!this.snapshot) {
      // The snapshot connection failed earlier: continue after the last row handed out, in a new snapshot
      // (the slot has not moved, so replaying it afterwards converges as for a resumed snapshot).
      const last = this.lastSnapshotOffset;
      const meta = await this.metaClient();
      this.snapshot = await Snapshotter.open(await this.snapshotTables(meta), {
        ...this.snapOptions(),
        lsn: this.snapshotLsn,
        resume: last ? { table: String(last.table), after: (last.after as string[] | null) ?? null } : undefined,
      });
    }
    const s = this.snapshot;
    let result: { records: SourceRecord[]; done: boolean };
    try {
      result = await s.next();
    } catch (err) {
      this.snapshot = undefined;
      await s.close();
      throw err;
    }
    const { records, done } = result;
    const lastRecord = records[records.length - 1];
    if (lastRecord && lastRecord.sourceOffset.snapshot === true) this.lastSnapshotOffset = lastRecord.sourceOffset;
    if (done) {
      await s.close();
      this.snapshot = undefined;
      const completion = s.completionOffset();
      this.resume = { lsn: BigInt(Number(completion.lsn)), event: -1 };
      this.lastOffsetLsn = this.resume.lsn;
      this.phase = this.cfg['snapshot.mode'] === 'initial_only' ? 'done' : 'streaming';
      this.log.info('Snapshot complete');
    }
    return records;
  }

  private async ensureStream(): Promise<void> {
    if (this.stream) return;
    this.streamError = undefined;
    this.txn = undefined;
    this.receivingTxn = false;
    this.inbox.length = 0;
    const stream = new ReplicationStream(this.cfg, this.cfg['slot.name'], this.cfg['publication.name'], {
      message: (walStart, msg) => {
        if (msg.tag === 'relation') {
          // values are decoded by our codecs from their text form
          for (const c of msg.columns) c.parser = (raw: unknown) => raw;
        } else if (msg.tag === 'begin') this.receivingTxn = true;
        else if (msg.tag === 'commit') this.receivingTxn = false;
        this.inbox.push({ walStart, msg });
        if (this.inbox.length >= this.cfg['max.queue.size']) stream.pause();
        this.wake?.();
      },
      keepalive: (walEnd) => {
        if (this.receivingTxn) return;
        const last = this.inbox[this.inbox.length - 1];
        if (last && 'keepalive' in last) last.keepalive = walEnd;
        else this.inbox.push({ keepalive: walEnd });
        this.wake?.();
      },
      failed: (err) => {
        this.streamError = err;
        this.wake?.();
      },
    });
    this.stream = stream;
    try {
      await stream.start();
    } catch (err) {
      this.stream = undefined;
      await stream.stop();
      throw mapQueryError(err, `Starting replication from slot ${this.cfg['slot.name']}`);
    }
    this.log.info({ slot: this.cfg['slot.name'], from: formatLsn(this.resume.lsn) }, 'Streaming changes');
  }

  private async pollStream(): Promise<SourceRecord[]> {
    await this.ensureStream();
    if (this.incr?.active) {
      try {
        await this.incr.maybeOpenWindow(await this.metaClient());
      } catch (err) {
        throw mapQueryError(err, 'Incremental snapshot');
      }
    }
    const out: SourceRecord[] = [];
    const max = this.cfg['max.batch.size'];
    const deadline = Date.now() + this.cfg['poll.interval.ms'];
    while (out.length < max && !this.ctx.signal.aborted) {
      if (this.inbox.length === 0) {
        if (this.streamError) break;
        if (out.length > 0 && !this.txn) break;
        const left = deadline - Date.now();
        if (left <= 0) break;
        await this.waitForData(Math.min(left, 200));
        this.wake = undefined;
        continue;
      }
      const item = this.inbox.shift()!;
      if ('keepalive' in item) {
        if (!this.txn && item.keepalive > this.safeLsn) this.safeLsn = item.keepalive;
        continue;
      }
      await this.handle(item.msg, out);
      if (this.stream?.isPaused && this.inbox.length < this.cfg['max.queue.size'] / 2) this.stream.resume();
    }
    if (this.streamError && this.inbox.length === 0) {
      const err = this.streamError;
      const s = this.stream;
      this.stream = undefined;
      await s?.stop();
      // What was handed out stays handed out: a reconnect skips up to it.
      if (out.length) return out;
      throw err instanceof ConnectError ? err : new NotConnectedError(err.message, { cause: err });
    }
    if (out.length === 0 && !this.txn) await this.maybeHeartbeat(out);
    return out;
  }

  private waitForData(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const signal = this.ctx.signal;
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  private skip(lsn: bigint, index: number): boolean {
    return lsn < this.resume.lsn || (lsn === this.resume.lsn && index <= this.resume.event);
  }

  private emit(out: SourceRecord[], shape: TableShape, key: unknown, value: Record<string, unknown> | null, ts: number): void {
    const txn = this.txn!;
    const index = txn.index++;
    this.incr?.onChange(shape.topic, key);
    if (this.skip(txn.commitLsn, index)) return;
    this.resume = { lsn: txn.commitLsn, event: index };
    this.lastOffsetLsn = txn.commitLsn;
    const offset: SourceOffset = { lsn: Number(txn.commitLsn), txId: txn.xid, event: index };
    const incremental = this.incr?.context();
    if (incremental) offset.incremental = incremental;
    out.push({
      sourcePartition: this.partition,
      sourceOffset: offset,
      topic: shape.topic,
      keySchema: shape.keySchema,
      key,
      valueSchema: value === null ? null : shape.envelopeSchema,
      value,
      timestamp: ts,
    });
  }

  private async handle(msg: Pgoutput.Message, out: SourceRecord[]): Promise<void> {
    switch (msg.tag) {
      case 'begin':
        this.txn = { xid: msg.xid, commitLsn: parseLsn(msg.commitLsn), tsMs: Number((msg.commitTime as bigint) / 1000n), index: 0 };
        return;
      case 'commit': {
        const end = parseLsn(msg.commitEndLsn);
        if (end > this.safeLsn) this.safeLsn = end;
        this.txn = undefined;
        return;
      }
      case 'relation':
        await this.relationShape(msg);
        return;
      case 'insert':
        if (this.txn && this.signalOids.has(msg.relation.relationOid)) this.signalEvent(msg.new as Record<string, string | null>, out);
        else if (this.txn) this.changeEvent(msg, out);
        return;
      case 'update':
      case 'delete':
      case 'truncate':
        if (!this.txn) return;
        this.changeEvent(msg, out);
        return;
      default:
        return;
    }
  }

  private async relationShape(rel: Pgoutput.MessageRelation): Promise<void> {
    const name = { schema: rel.schema, table: rel.name };
    if (this.signalTable && tableKey(name) === tableKey(this.signalTable)) {
      this.signalOids.add(rel.relationOid);
      this.relations.set(rel.relationOid, null);
      return;
    }
    if (this.include && !this.include.has(tableKey(name))) {
      this.relations.set(rel.relationOid, null);
      return;
    }
    const meta = await this.metaClient();
    const info = await describeTable(meta, name);
    const notNull = new Set(info?.columns.filter((c) => c.notNull).map((c) => c.name) ?? []);
    let keyCols = (info?.primaryKey ?? []).filter((k) => rel.columns.some((c) => c.name === k));
    if (keyCols.length === 0 && rel.replicaIdentity === 'index') keyCols = rel.keyColumns;
    await this.types.resolve(meta, rel.columns.map((c) => c.typeOid));
    const cols = rel.columns.map((c) => ({ name: c.name, typeOid: c.typeOid, typeMod: c.typeMod, notNull: notNull.has(c.name) }));
    this.relations.set(rel.relationOid, buildShape(this.cfg['topic.prefix'], rel.schema, rel.name, cols, keyCols, this.types));
  }

  private async metaClient(): Promise<pg.Client> {
    if (this.meta) return this.meta;
    const c = await connect(this.cfg);
    c.on('error', () => {
      if (this.meta === c) this.meta = undefined;
    });
    this.meta = c;
    return c;
  }

  private source(): SourceInfo {
    const t = this.txn!;
    return {
      serverName: this.cfg['topic.prefix'],
      db: this.db,
      tsMs: t.tsMs,
      snapshot: 'false',
      txId: t.xid,
      lsn: t.commitLsn,
      sequence: JSON.stringify([String(this.safeLsn), String(t.commitLsn)]),
    };
  }

  private changeEvent(msg: Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete | Pgoutput.MessageTruncate, out: SourceRecord[]): void {
    const ts = this.txn!.tsMs;
    const tomb = this.cfg['tombstones.on.delete'];
    if (msg.tag === 'truncate') {
      for (const rel of msg.relations) {
        const shape = this.relations.get(rel.relationOid);
        if (!shape) continue;
        this.emit(out, shape, null, envelope(shape, 't', null, null, this.source()), ts);
      }
      return;
    }
    const shape = this.relations.get(msg.relation.relationOid);
    if (!shape) return;
    if (msg.tag === 'insert') {
      const after = decodeTuple(shape, msg.new);
      this.emit(out, shape, keyOf(shape, after), envelope(shape, 'c', null, after, this.source()), ts);
      return;
    }
    const before = msg.old ? decodeTuple(shape, msg.old) : msg.key ? keyOnly(shape, msg.key) : null;
    if (msg.tag === 'delete') {
      const key = before ? keyOf(shape, before) : null;
      this.emit(out, shape, key, envelope(shape, 'd', before, null, this.source()), ts);
      if (tomb && key !== null) this.emit(out, shape, key, null, ts);
      return;
    }
    const after = decodeTuple(shape, msg.new);
    const newKey = keyOf(shape, after);
    const oldKey = before ? keyOf(shape, before) : null;
    if (oldKey && newKey && !sameKey(oldKey, newKey)) {
      // The primary key changed: a delete of the old key and a create of the new one, as Debezium does.
      this.emit(out, shape, oldKey, envelope(shape, 'd', before, null, this.source()), ts);
      if (tomb) this.emit(out, shape, oldKey, null, ts);
      this.emit(out, shape, newKey, envelope(shape, 'c', null, after, this.source()), ts);
      return;
    }
    this.emit(out, shape, newKey, envelope(shape, 'u', before, after, this.source()), ts);
  }

  /** A row inserted into the signal table; it takes an event index so a replayed signal is skipped like a record. */
  private signalEvent(row: Record<string, string | null>, out: SourceRecord[]): void {
    const txn = this.txn!;
    const index = txn.index++;
    if (!this.incr || this.skip(txn.commitLsn, index)) return;
    const closed = this.incr.onSignal({ id: String(row.id ?? ''), type: String(row.type ?? ''), data: row.data ?? null });
    if (!closed) return;
    // The context moves on with the chunk's last row: a crash before it re-reads the chunk (never skips it).
    if (closed.rows.length === 0) this.incr.advance(closed.next);
    closed.rows.forEach((r, i) => {
      if (i === closed.rows.length - 1) this.incr!.advance(closed.next);
      this.emit(out, r.shape, r.key, r.value, txn.tsMs);
    });
  }

  async handleSignal(s: SourceSignal): Promise<void> {
    if (s.type !== 'execute-snapshot' && s.type !== 'stop-snapshot') throw new ConfigError({ type: [`Unknown signal ${s.type}`] });
    const table = IncrementalSnapshot.validate(this.signalTable);
    const tables = ((s.data['data-collections'] as string[] | undefined) ?? []).map((t) => tableKey(parseTableName(t)));
    const meta = await this.metaClient();
    if (s.type === 'execute-snapshot') await IncrementalSnapshot.requestSnapshot(meta, table, tables);
    else await meta.query(`INSERT INTO ${qualified(table)} (id, type, data) VALUES ($1, 'stop-snapshot', $2)`, [`ferry-stop-${Date.now().toString(36)}`, JSON.stringify({ 'data-collections': tables, type: 'incremental' })]);
  }

  private async maybeHeartbeat(out: SourceRecord[]): Promise<void> {
    const interval = this.cfg['heartbeat.interval.ms'];
    if (interval <= 0 || Date.now() - this.lastHeartbeat < interval) return;
    this.lastHeartbeat = Date.now();
    const q = this.cfg['heartbeat.action.query'];
    if (q) {
      try {
        await (await this.metaClient()).query(q);
      } catch (err) {
        this.log.warn({ err }, 'heartbeat.action.query failed');
      }
    }
    // Ask for a keepalive so the next heartbeat knows the server's newest position.
    this.stream?.ping();
    if (this.safeLsn <= this.lastOffsetLsn) return;
    this.lastOffsetLsn = this.safeLsn;
    this.resume = { lsn: this.safeLsn, event: -1 };
    const prefix = this.cfg['topic.prefix'];
    out.push({
      sourcePartition: this.partition,
      sourceOffset: { lsn: Number(this.safeLsn), txId: null, event: -1, ...(this.incr?.context() ? { incremental: this.incr.context()! } : {}) },
      topic: `${this.cfg['heartbeat.topics.prefix']}.${prefix}`,
      keySchema: HEARTBEAT_KEY_SCHEMA,
      key: { serverName: prefix },
      valueSchema: HEARTBEAT_VALUE_SCHEMA,
      value: { ts_ms: Date.now() },
      timestamp: Date.now(),
    });
  }

  commit(committed: CommittedOffset[]): void {
    for (const c of committed) {
      if (c.partition.server !== this.partition.server) continue;
      const o = c.offset;
      if (!o || o.snapshot === true || o.snapshot === 'jobs' || o.lsn === undefined || o.lsn === null) continue;
      this.stream?.confirm(BigInt(Number(o.lsn)));
    }
  }

  async stop(): Promise<void> {
    const j = this.job;
    this.job = undefined;
    await j?.release();
    const s = this.stream;
    this.stream = undefined;
    await s?.stop();
    const snap = this.snapshot;
    this.snapshot = undefined;
    await snap?.close();
    const m = this.meta;
    this.meta = undefined;
    await closeQuietly(m);
  }
}

function keyOnly(shape: TableShape, key: Record<string, unknown>): Record<string, unknown> {
  const t: Record<string, unknown> = {};
  for (const c of shape.codecs) t[c.name] = c.name in key && key[c.name] !== undefined ? key[c.name] : null;
  return decodeTuple(shape, t);
}

function sameKey(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  for (const k of Object.keys(a)) {
    const x = a[k];
    const y = b[k];
    if (x instanceof Date && y instanceof Date) {
      if (x.getTime() !== y.getTime()) return false;
    } else if (Buffer.isBuffer(x) && Buffer.isBuffer(y)) {
      if (!x.equals(y)) return false;
    } else if (x !== y) return false;
  }
  return true;
}
