import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  type KinesisClientConfig,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import {
  ConnectError,
  ConfigError,
  NotConnectedError,
  Schemas,
  abortableSleep,
  type CommittedOffset,
  type Logger,
  type SourceRecord,
  type SourceTask,
  type SourceTaskContext,
  type SourcePartition,
  type TaskConfig,
} from '@ferry/core';
import {
  backoffWithJitter,
  createKinesisClient,
  describeError,
  isConnectionError,
  isExpiredIterator,
  isInvalidArgument,
  isNotFound,
  isThrottle,
} from './client.js';
import {
  SourceConfig,
  TASK_FOREIGN_SHARDS,
  TASK_SHARDS,
  type ForeignShard,
  type ShardAssignment,
  type SourceSettings,
  type StartPosition,
} from './source-config.js';
import { laterOffset, readShardOffsets, shardPartition, toShardOffset, type ShardOffset } from './source-offsets.js';

/** GetRecords allows 5 calls per second per shard. */
const MIN_CALL_INTERVAL_MS = 200;
/** Read throughput per shard: 2 MB/s. */
const READ_BYTES_PER_SEC = 2 * 1024 * 1024;
/** How long `poll()` waits for data before returning an empty batch. */
const POLL_WAIT_MS = 1_000;
/** Shards read concurrently in one poll (bounds memory: each call may return up to 10 MB). */
const MAX_PARALLEL_READS = 8;
/** How often a waiting child shard checks whether its parents are finished. */
const PARENT_CHECK_INTERVAL_MS = 1_000;
const ERROR_BACKOFF_MS = 1_000;
const ERROR_BACKOFF_MAX_MS = 30_000;
const THROTTLE_LOG_INTERVAL_MS = 10_000;

export const HEADER_SEQUENCE = 'kinesis.sequence.number';
export const HEADER_SHARD = 'kinesis.shard.id';
export const HEADER_ARRIVAL = 'kinesis.approximate.arrival.timestamp';

type Phase = 'waiting' | 'reading' | 'ended';

interface ShardState {
  id: string;
  parents: string[];
  start: StartPosition;
  partition: SourcePartition;
  phase: Phase;
  iterator: string | undefined;
  /** Last sequence number emitted (or stored when the task started). */
  lastSeq: string | undefined;
  /** Sequence number of the last record this task instance emitted from the shard. */
  lastEmitted: string | undefined;
  nextAt: number;
  /** MillisBehindLatest of the shard's last answer. */
  behind: number;
  throttleStreak: number;
  errorStreak: number;
}

/** Counters a task exposes; the runtime may publish them. */
export interface KinesisSourceMetrics {
  getRecordsCalls: number;
  getShardIteratorCalls: number;
  recordsRead: number;
  bytesRead: number;
  throttled: number;
  expiredIterators: number;
  errors: number;
  shardsReading: number;
  shardsWaiting: number;
  shardsEnded: number;
  /** Largest MillisBehindLatest of the shards being read (their last answers). */
  millisBehindLatest: number;
}

export interface KinesisSourceTaskOptions {
  /** Extra client settings (e.g. a custom request handler). */
  clientConfig?: Partial<KinesisClientConfig>;
  /** Called with the client once created, e.g. to add middleware. */
  configureClient?: (client: KinesisClient) => void;
}

/**
 * Reads the shards assigned to it. A shard with parents (after a split or a
 * merge) is read only once every parent is finished: its records up to
 * SHARD_END are in the offset store. Offsets are `{seq}` per `{stream, shard}`;
 * the last record of a shard also carries `end: true` when the answer that
 * returned it closed the shard.
 */
export class KinesisSourceTask implements SourceTask {
  client: KinesisClient | undefined;
  private cfg!: SourceSettings;
  private ctx!: SourceTaskContext;
  private log!: Logger;
  private stream = '';
  private topic = '';
  private shards = new Map<string, ShardState>();
  private foreign = new Map<string, ForeignShard>();
  /** Latest durable checkpoints learnt through commit(). */
  private durable = new Map<string, ShardOffset>();
  private finishedParents = new Set<string>();
  private parentCheckAt = new Map<string, number>();
  private stopped = new AbortController();
  private signal!: AbortSignal;
  private lastThrottleLog = 0;
  private throttledSinceLog = 0;
  private readonly counters: KinesisSourceMetrics = {
    getRecordsCalls: 0,
    getShardIteratorCalls: 0,
    recordsRead: 0,
    bytesRead: 0,
    throttled: 0,
    expiredIterators: 0,
    errors: 0,
    shardsReading: 0,
    shardsWaiting: 0,
    shardsEnded: 0,
    millisBehindLatest: 0,
  };

  constructor(private readonly options: KinesisSourceTaskOptions = {}) {}

  async start(config: TaskConfig, context: SourceTaskContext): Promise<void> {
    this.cfg = SourceConfig.parse(config);
    this.ctx = context;
    this.log = context.logger;
    this.signal = AbortSignal.any([context.signal, this.stopped.signal]);
    this.stream = this.cfg['kinesis.stream'];
    this.topic = this.cfg['kafka.topic'];
    const assigned = parseJson<ShardAssignment[]>(config[TASK_SHARDS], TASK_SHARDS) ?? [];
    for (const f of parseJson<ForeignShard[]>(config[TASK_FOREIGN_SHARDS], TASK_FOREIGN_SHARDS) ?? []) this.foreign.set(f.id, f);
    this.client = createKinesisClient(this.cfg, this.options.clientConfig);
    this.options.configureClient?.(this.client);

    // A failure to read offsets must fail the start: guessing a position here would re-read or skip data.
    const stored = await readShardOffsets(context.offsetReader, this.stream, assigned.map((a) => a.id));
    const now = Date.now();
    for (const a of assigned) {
      const off = stored.get(a.id);
      const phase: Phase = off?.end ? 'ended' : off?.seq !== undefined || a.parents.length === 0 ? 'reading' : 'waiting';
      this.shards.set(a.id, {
        id: a.id,
        parents: a.parents,
        start: a.start,
        partition: shardPartition(this.stream, a.id),
        phase,
        iterator: undefined,
        lastSeq: off?.seq,
        lastEmitted: undefined,
        nextAt: now,
        behind: 0,
        throttleStreak: 0,
        errorStreak: 0,
      });
      if (off) this.durable.set(a.id, off);
    }
    this.log.info(
      {
        stream: this.stream,
        shards: assigned.map((a) => ({ id: a.id, resumeAfter: stored.get(a.id)?.seq ?? null, ended: !!stored.get(a.id)?.end })),
      },
      'Kinesis source task started',
    );
  }

  async poll(): Promise<SourceRecord[]> {
    const deadline = Date.now() + POLL_WAIT_MS;
    while (!this.signal.aborted) {
      await this.checkWaitingShards();
      const now = Date.now();
      const ready = [...this.shards.values()]
        .filter((s) => s.phase === 'reading' && s.nextAt <= now)
        .sort((a, b) => a.nextAt - b.nextAt)
        .slice(0, MAX_PARALLEL_READS);
      if (ready.length > 0) {
        const results = await Promise.all(ready.map((s) => this.read(s)));
        const records = results.flatMap((r) => r.records);
        if (records.length > 0) return records;
        const failures = results.filter((r) => r.error !== undefined);
        if (failures.length === ready.length && failures.some((r) => isConnectionError(r.error))) {
          throw new NotConnectedError(`Kinesis endpoint unreachable while reading stream ${this.stream}: ${describeError(failures[0].error)}`, {
            cause: failures[0].error,
          });
        }
        continue;
      }
      if (now >= deadline) return [];
      let wake = deadline;
      for (const s of this.shards.values()) {
        if (s.phase === 'reading') wake = Math.min(wake, s.nextAt);
        else if (s.phase === 'waiting') wake = Math.min(wake, this.parentCheckAt.get(s.id) ?? now);
      }
      await abortableSleep(Math.max(1, wake - now), this.signal);
    }
    return [];
  }

  commit(committed: CommittedOffset[]): void {
    for (const c of committed) {
      if (c.partition?.stream !== this.stream || typeof c.partition.shard !== 'string') continue;
      const off = toShardOffset(c.offset);
      if (off) this.durable.set(c.partition.shard, laterOffset(this.durable.get(c.partition.shard), off)!);
    }
  }

  /** Counters since the task started (throttling, calls, records, shard states). */
  metrics(): KinesisSourceMetrics {
    let reading = 0;
    let waiting = 0;
    let ended = 0;
    let behind = 0;
    for (const s of this.shards.values()) {
      if (s.phase === 'reading') behind = Math.max(behind, s.behind);
      if (s.phase === 'reading') reading++;
      else if (s.phase === 'waiting') waiting++;
      else ended++;
    }
    return { ...this.counters, shardsReading: reading, shardsWaiting: waiting, shardsEnded: ended, millisBehindLatest: behind };
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    this.client?.destroy();
  }

  // ---- reading ------------------------------------------------------------

  private async read(s: ShardState): Promise<{ records: SourceRecord[]; error?: unknown }> {
    try {
      if (s.iterator === undefined) s.iterator = await this.shardIterator(s);
      if (s.iterator === undefined) {
        this.endShard(s, undefined);
        return { records: [] };
      }
      this.counters.getRecordsCalls++;
      const out = await this.client!.send(
        new GetRecordsCommand({ ShardIterator: s.iterator, Limit: this.cfg['kinesis.record.limit'] }),
        { abortSignal: this.signal },
      );
      const raw = out.Records ?? [];
      let bytes = 0;
      const records = raw.map((r) => {
        bytes += r.Data?.byteLength ?? 0;
        return this.toSourceRecord(s, r);
      });
      this.counters.recordsRead += records.length;
      this.counters.bytesRead += bytes;
      s.behind = out.MillisBehindLatest ?? 0;
      s.throttleStreak = 0;
      s.errorStreak = 0;
      if (records.length > 0) {
        s.lastSeq = raw[raw.length - 1].SequenceNumber;
        s.lastEmitted = s.lastSeq;
      }
      const now = Date.now();
      s.iterator = out.NextShardIterator ?? undefined;
      if (!out.NextShardIterator) {
        // The shard is closed and fully read: mark the last record so a restart, and the children, know.
        if (records.length > 0) records[records.length - 1].sourceOffset = { seq: s.lastSeq, end: true };
        this.endShard(s, records.length);
      } else if (records.length === 0 && (out.MillisBehindLatest ?? 0) === 0) {
        s.nextAt = now + this.cfg['kinesis.empty.records.backoff.ms'];
      } else {
        s.nextAt = now + Math.max(MIN_CALL_INTERVAL_MS, Math.ceil((bytes / READ_BYTES_PER_SEC) * 1000));
      }
      return { records };
    } catch (err) {
      if (this.signal.aborted) return { records: [] };
      this.onReadError(s, err);
      return { records: [], error: err };
    }
  }

  private async shardIterator(s: ShardState): Promise<string | undefined> {
    const input: GetShardIteratorCommandInput = { StreamName: this.stream, ShardId: s.id, ShardIteratorType: 'TRIM_HORIZON' };
    if (s.lastSeq !== undefined) {
      input.ShardIteratorType = 'AFTER_SEQUENCE_NUMBER';
      input.StartingSequenceNumber = s.lastSeq;
    } else if (s.start.type === 'AT_TIMESTAMP') {
      input.ShardIteratorType = 'AT_TIMESTAMP';
      input.Timestamp = new Date(s.start.timestamp);
    }
    this.counters.getShardIteratorCalls++;
    try {
      const out = await this.client!.send(new GetShardIteratorCommand(input), { abortSignal: this.signal });
      this.log.debug({ shard: s.id, type: input.ShardIteratorType, after: input.StartingSequenceNumber }, 'Kinesis shard iterator');
      return out.ShardIterator ?? undefined;
    } catch (err) {
      if (s.lastSeq !== undefined && isInvalidArgument(err)) {
        // Never fall back to another position silently: that would re-read or skip the shard.
        throw new ConnectError(
          `Cannot resume shard ${s.id} of stream ${this.stream} after stored sequence number ${s.lastSeq}: ${describeError(err)}. ` +
            'Reset the connector offsets to choose a position.',
          { cause: err },
        );
      }
      throw err;
    }
  }

  private endShard(s: ShardState, lastBatchSize: number | undefined): void {
    s.phase = 'ended';
    s.iterator = undefined;
    this.log.info({ shard: s.id, lastSeq: s.lastSeq ?? null, lastBatch: lastBatchSize ?? 0 }, 'Kinesis shard reached SHARD_END');
  }

  private onReadError(s: ShardState, err: unknown): void {
    const now = Date.now();
    if (err instanceof ConnectError) throw err;
    if (isThrottle(err)) {
      s.throttleStreak++;
      this.counters.throttled++;
      this.throttledSinceLog++;
      const base = this.cfg['kinesis.throughput.exceeded.backoff.ms'];
      s.nextAt = now + backoffWithJitter(base, s.throttleStreak - 1, base * 8);
      if (now - this.lastThrottleLog >= THROTTLE_LOG_INTERVAL_MS) {
        this.log.warn(
          { shard: s.id, throttled: this.throttledSinceLog, totalThrottled: this.counters.throttled, backoffMs: s.nextAt - now },
          `Kinesis read throttled: ${describeError(err)}`,
        );
        this.lastThrottleLog = now;
        this.throttledSinceLog = 0;
      }
      return;
    }
    if (isExpiredIterator(err)) {
      this.counters.expiredIterators++;
      s.iterator = undefined;
      s.nextAt = now;
      this.log.debug({ shard: s.id }, 'Kinesis shard iterator expired; getting a new one');
      return;
    }
    s.errorStreak++;
    this.counters.errors++;
    s.nextAt = now + backoffWithJitter(ERROR_BACKOFF_MS, s.errorStreak - 1, ERROR_BACKOFF_MAX_MS);
    if (isNotFound(err)) s.iterator = undefined;
    this.log.warn({ shard: s.id, attempt: s.errorStreak, retryInMs: s.nextAt - now }, `Kinesis read failed: ${describeError(err)}`);
  }

  private toSourceRecord(s: ShardState, r: KinesisRecord): SourceRecord {
    const data = r.Data ?? new Uint8Array();
    const arrival = r.ApproximateArrivalTimestamp?.getTime() ?? Date.now();
    return {
      topic: this.topic,
      sourcePartition: s.partition,
      sourceOffset: { seq: r.SequenceNumber },
      keySchema: Schemas.string(),
      key: r.PartitionKey ?? null,
      valueSchema: Schemas.bytes(),
      value: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      timestamp: arrival,
      headers: [
        { key: HEADER_SEQUENCE, value: r.SequenceNumber, schema: Schemas.string() },
        { key: HEADER_SHARD, value: s.id, schema: Schemas.string() },
        { key: HEADER_ARRIVAL, value: arrival, schema: Schemas.int64() },
      ],
    };
  }

  // ---- parents before children ---------------------------------------------

  private async checkWaitingShards(): Promise<void> {
    const now = Date.now();
    for (const s of this.shards.values()) {
      if (s.phase !== 'waiting' || (this.parentCheckAt.get(s.id) ?? 0) > now) continue;
      this.parentCheckAt.set(s.id, now + PARENT_CHECK_INTERVAL_MS);
      let done = true;
      for (const p of s.parents) {
        if (this.finishedParents.has(p)) continue;
        if (await this.isFinished(p)) this.finishedParents.add(p);
        else {
          done = false;
          break;
        }
      }
      if (done) {
        s.phase = 'reading';
        s.nextAt = Date.now();
        this.parentCheckAt.delete(s.id);
        this.log.info({ shard: s.id, parents: s.parents }, 'Kinesis parent shards finished; reading child shard');
      }
    }
  }

  /**
   * A shard is finished when every record a reader will ever emit from it is
   * in the offset store: its checkpoint says so (`end`), or a reader starting
   * from its checkpoint (or from its start position) finds SHARD_END with no
   * record in between.
   */
  private async isFinished(id: string): Promise<boolean> {
    const own = this.shards.get(id);
    const foreign = this.foreign.get(id);
    // Neither assigned nor foreign: the connector found it finished (or expired) already.
    if (!own && !foreign) return true;
    let stored: ShardOffset | undefined = this.durable.get(id);
    try {
      stored = laterOffset(stored, toShardOffset(await this.ctx.offsetReader.offset(shardPartition(this.stream, id))));
    } catch (err) {
      this.log.warn({ shard: id }, `Reading the offset of parent shard failed: ${describeError(err)}`);
      return false;
    }
    if (stored?.end) return true;
    if (own) {
      if (own.phase !== 'ended') return false;
      if (own.lastEmitted === undefined) return true;
      return stored?.seq !== undefined && BigInt(stored.seq) >= BigInt(own.lastEmitted);
    }
    return this.probeFinished(id, stored, foreign!.start);
  }

  private async probeFinished(id: string, stored: ShardOffset | undefined, start: StartPosition): Promise<boolean> {
    const input: GetShardIteratorCommandInput = { StreamName: this.stream, ShardId: id, ShardIteratorType: 'TRIM_HORIZON' };
    if (stored?.seq !== undefined) {
      input.ShardIteratorType = 'AFTER_SEQUENCE_NUMBER';
      input.StartingSequenceNumber = stored.seq;
    } else if (start.type === 'AT_TIMESTAMP') {
      input.ShardIteratorType = 'AT_TIMESTAMP';
      input.Timestamp = new Date(start.timestamp);
    }
    try {
      this.counters.getShardIteratorCalls++;
      let it = (await this.client!.send(new GetShardIteratorCommand(input), { abortSignal: this.signal })).ShardIterator;
      for (let i = 0; i < 5 && it; i++) {
        this.counters.getRecordsCalls++;
        const out = await this.client!.send(new GetRecordsCommand({ ShardIterator: it, Limit: 1 }), { abortSignal: this.signal });
        if ((out.Records ?? []).length > 0) return false;
        it = out.NextShardIterator;
      }
      return !it;
    } catch (err) {
      if (isNotFound(err)) return true;
      if (isThrottle(err)) this.counters.throttled++;
      else this.counters.errors++;
      this.log.debug({ shard: id }, `Checking parent shard failed: ${describeError(err)}`);
      return false;
    }
  }
}

function parseJson<T>(v: string | undefined, field: string): T | undefined {
  if (v === undefined || v === '') return undefined;
  try {
    return JSON.parse(v) as T;
  } catch (err) {
    throw new ConfigError({ [field]: [`must be JSON written by the connector: ${(err as Error).message}`] });
  }
}
