import { randomUUID } from 'node:crypto';
import { GetRecordsCommand, GetShardIteratorCommand, ListStreamsCommand, type Shard, type ShardIteratorType } from '@aws-sdk/client-kinesis';
import { abortableSleep, NotConnectedError, RetriableError, topicPartitionKey, type TopicPartition, type TopicPartitionOffset } from '@ferry/core';
import type { BackboneConsumer, ConsumerHandlers, InMessage } from '../backbone.js';
import type { ShardCheckpoint } from '../../stores/redis-shard-lease-store.js';
import { isExpiredIterator, isNotFound, isThrottle, listShards, shardOrdinal } from './client.js';
import { decodeEnvelope } from './envelope.js';
import type { KinesisContext } from './context.js';

/** One leased shard being read. */
interface ShardReader {
  field: string;
  stream: string;
  shardId: string;
  tp: TopicPartition;
  gen: number;
  /** Local time of the last successful acquisition or renewal of the lease. */
  renewedAt: number;
  /** Parents exist: start at the shard's beginning even for a group that reads from the latest. */
  child: boolean;
  base: ShardCheckpoint | null;
  /** Ordinal of the next record to deliver. */
  nextOrd: number;
  /** Delivered, not yet checkpointed: ordinal -> sequence number, in order. */
  delivered: Array<[number, string]>;
  /** Highest checkpointed ordinal (next to read). */
  committedOrd: number;
  committedSeq: string | undefined;
  active: boolean;
  ended: boolean;
  seekTo: number | undefined;
  loop?: Promise<void>;
  wake?: AbortController;
}

/**
 * A member of a consumer group over Kinesis: it shares the shards of the
 * subscribed streams with the group's other members through leases in
 * Redis (an equal share each, rebalanced by asking the most loaded member to
 * hand one over), reads each leased shard in order, delivers a shard's
 * children only once its parents are checkpointed to their end, and
 * checkpoints (fenced by the lease generation) what the runtime commits.
 */
export class KinesisConsumer implements BackboneConsumer {
  private readonly me: string;
  private spec: { topics?: string[]; pattern?: RegExp } = {};
  private handlers: ConsumerHandlers | undefined;
  private readonly readers = new Map<string, ShardReader>();
  private readonly paused = new Set<string>();
  /** Dropped shards whose in-flight batch and lease release are not through yet. */
  private readonly draining = new Set<Promise<unknown>>();
  private running = false;
  private syncLoop: Promise<void> | undefined;
  private renewLoop: Promise<void> | undefined;
  private readonly stop = new AbortController();
  private shardCache = new Map<string, { at: number; shards: Shard[] }>();
  private readonly log;

  constructor(
    private readonly b: KinesisContext,
    private readonly group: string,
    clientId: string,
    private readonly fromBeginning: boolean,
  ) {
    this.me = `${clientId}-${randomUUID().slice(0, 8)}`;
    this.log = b.opts.logger.child({ component: 'kinesis-consumer', group, member: this.me });
  }

  async connect(): Promise<void> {
    await this.b.leases.connect();
    try {
      await this.b.client.send(new ListStreamsCommand({ Limit: 1 }));
    } catch (err) {
      throw new NotConnectedError(`Consumer cannot reach Kinesis: ${(err as Error).message}`, { cause: err });
    }
  }

  async subscribe(spec: { topics?: string[]; pattern?: RegExp }): Promise<void> {
    this.spec = spec;
    // Streams named explicitly are created up front, as Kafka auto-creates subscribed topics.
    for (const t of spec.topics ?? []) await this.b.ensureStream(t);
  }

  async run(handlers: ConsumerHandlers): Promise<void> {
    this.handlers = handlers;
    this.running = true;
    this.renewLoop = this.renewLeases();
    this.syncLoop = (async () => {
      while (this.running) {
        try {
          await this.sync();
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'Shard lease sync failed; retrying');
        }
        await abortableSleep(this.b.opts.shardSyncIntervalMs, this.stop.signal);
      }
    })();
  }

  /**
   * Keeps the held leases (and the group membership) alive on a timer of its
   * own, every third of the lease duration: shard discovery (ListShards, a
   * slow emulator or API) and record fetching never delay a renewal. A round
   * still in flight (Redis slow or unreachable) is not stacked; meanwhile a
   * shard whose last renewal is older than the lease duration is dropped.
   */
  private async renewLeases(): Promise<void> {
    const dur = this.b.opts.leaseDurationMs;
    const every = Math.max(50, Math.floor(dur / 3));
    let round: Promise<void> | undefined;
    while (this.running) {
      this.dropLapsed();
      if (!round) {
        round = this.renewRound()
          .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'Shard lease renewal failed; retrying'))
          .finally(() => (round = undefined));
      }
      // Wake up in time to drop a shard the moment its lease may have run out.
      let next = every;
      for (const r of this.readers.values()) if (!r.ended) next = Math.min(next, r.renewedAt + dur - Date.now());
      await abortableSleep(Math.max(10, next), this.stop.signal);
    }
    await round;
  }

  /** One renewal of every held lease, fenced by owner and generation, plus the member heartbeat. */
  private async renewRound(): Promise<void> {
    const { leases: store } = this.b;
    const dur = this.b.opts.leaseDurationMs;
    const held = [...this.readers.values()].filter((r) => !r.ended);
    let changed = false;
    const results = await Promise.allSettled([
      store.heartbeat(this.group, this.me, dur),
      ...held.map(async (r) => {
        const asked = Date.now();
        const want = await store.renew(this.group, r.field, this.me, r.gen, dur);
        // Dropped, finished or replaced by a new acquisition while the call was out: nothing to do.
        if (this.readers.get(r.field) !== r || r.ended || !this.running) return;
        if (want === null) {
          this.log.warn({ shard: r.field, gen: r.gen }, 'Shard lease lost');
          this.drop(r, false);
          changed = true;
          return;
        }
        r.renewedAt = asked;
        if (want !== '' && want !== this.me) {
          this.log.info({ shard: r.field, to: want }, 'Handing shard over');
          this.drop(r, true);
          changed = true;
        }
      }),
    ]);
    if (changed) this.announce();
    const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Stops reading every shard whose lease was not renewed within its duration: it may be someone else's by now. */
  private dropLapsed(): void {
    const dur = this.b.opts.leaseDurationMs;
    let changed = false;
    for (const r of [...this.readers.values()]) {
      if (r.ended || !r.active || Date.now() - r.renewedAt < dur) continue;
      this.log.warn({ shard: r.field }, 'Shard lease not renewed within its duration; stopping this shard');
      this.drop(r, false);
      changed = true;
    }
    if (changed) this.announce();
  }

  private async streams(): Promise<string[]> {
    if (this.spec.topics?.length) return this.spec.topics.map((t) => this.b.streamOf(t));
    if (!this.spec.pattern) return [];
    const pattern = this.spec.pattern;
    return (await this.b.listTopics()).filter((t) => pattern.test(t)).map((t) => this.b.streamOf(t));
  }

  private async shardsOf(stream: string): Promise<Shard[]> {
    const c = this.shardCache.get(stream);
    if (c && Date.now() - c.at < this.b.opts.shardSyncIntervalMs / 2) return c.shards;
    try {
      const shards = await listShards(this.b.client, stream);
      this.shardCache.set(stream, { at: Date.now(), shards });
      return shards;
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  /**
   * One round of shard discovery: take a fair share of the eligible shards
   * and ask the most loaded member for one when below it. Held leases are
   * renewed by renewLeases(), however long this round takes.
   */
  private async sync(): Promise<void> {
    const { leases: store } = this.b;
    const dur = this.b.opts.leaseDurationMs;
    let changed = false;

    // The slow part first (ListShards), so the Redis snapshot below is fresh.
    const listed: Array<{ stream: string; shards: Shard[] }> = [];
    for (const stream of await this.streams()) listed.push({ stream, shards: await this.shardsOf(stream) });
    const { now, members } = await store.heartbeat(this.group, this.me, dur);
    const checkpoints = await store.checkpoints(this.group);
    const leases = await store.leases(this.group);
    const eligible: Array<{ field: string; stream: string; shard: Shard }> = [];
    for (const { stream, shards } of listed) {
      const ids = new Set(shards.map((s) => s.ShardId!));
      const done = (id: string | undefined) => !id || !ids.has(id) || checkpoints.get(`${stream}/${id}`)?.end === true;
      for (const s of shards) {
        const field = `${stream}/${s.ShardId!}`;
        if (checkpoints.get(field)?.end) continue;
        if (!done(s.ParentShardId) || !done(s.AdjacentParentShardId)) continue;
        eligible.push({ field, stream, shard: s });
      }
    }
    const live = new Set(members);
    const target = Math.ceil(eligible.length / Math.max(1, live.size));
    const mine = () => [...this.readers.values()].filter((r) => !r.ended).length;
    const free = eligible.filter((e) => {
      if (this.readers.has(e.field)) return false;
      const l = leases.get(e.field);
      return !l || l.owner === '' || l.exp <= now || !live.has(l.owner);
    });
    for (const e of free) {
      if (mine() >= target) break;
      const asked = Date.now();
      const got = await store.acquire(this.group, e.field, this.me, dur);
      if (!got) continue;
      this.addReader(e.stream, e.shard, got.gen, got.checkpoint, asked);
      changed = true;
    }
    if (mine() < target) {
      // Ask the most loaded member for one of its shards; it releases it after its in-flight batch.
      const load = new Map<string, string[]>();
      for (const e of eligible) {
        const l = leases.get(e.field);
        if (!l || l.owner === this.me || !live.has(l.owner) || l.exp <= now) continue;
        let a = load.get(l.owner);
        if (!a) load.set(l.owner, (a = []));
        a.push(e.field);
      }
      const busiest = [...load.entries()].sort((x, y) => y[1].length - x[1].length)[0];
      if (busiest && busiest[1].length > target) await store.requestHandoff(this.group, busiest[1][0]!, this.me);
    }
    if (changed) this.announce();
    for (const r of this.readers.values()) if (!r.loop && r.active) r.loop = this.read(r);
  }

  private addReader(stream: string, shard: Shard, gen: number, cp: ShardCheckpoint | null, renewedAt: number): void {
    const field = `${stream}/${shard.ShardId!}`;
    const r: ShardReader = {
      field,
      stream,
      shardId: shard.ShardId!,
      tp: { topic: this.b.topicOf(stream)!, partition: shardOrdinal(shard.ShardId!) },
      gen,
      renewedAt,
      child: !!shard.ParentShardId,
      base: cp,
      nextOrd: cp?.ord ?? 0,
      delivered: [],
      committedOrd: cp?.ord ?? 0,
      committedSeq: cp?.seq,
      active: true,
      ended: false,
      seekTo: undefined,
    };
    this.readers.set(field, r);
    this.log.info({ shard: field, gen, from: cp?.seq ?? (this.fromBeginning || r.child ? 'TRIM_HORIZON' : 'LATEST') }, 'Shard lease acquired');
  }

  /**
   * Stops reading a shard without waiting for its in-flight batch (a slow
   * put() must not hold up the renewal of the other leases); with `release`,
   * gives the lease back once that batch is through, so the next owner starts
   * after it.
   */
  private drop(r: ShardReader, release: boolean): void {
    r.active = false;
    r.wake?.abort();
    if (this.readers.get(r.field) === r) this.readers.delete(r.field);
    const done = (r.loop ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => (release ? this.b.leases.release(this.group, r.field, this.me, r.gen) : undefined))
      .catch(() => undefined);
    this.draining.add(done);
    void done.then(() => this.draining.delete(done));
  }

  /**
   * Tells the runtime the new assignment. Not awaited by the lease loop: the
   * runtime queues it ahead of any batch of a newly read shard, and waiting
   * for it behind a slow put() would let the other leases expire.
   */
  private announce(): void {
    const tps = [...this.readers.values()].filter((r) => r.active).map((r) => r.tp);
    const failed = (err: unknown) => this.log.warn({ err: (err as Error).message }, 'Assignment handler failed');
    try {
      void Promise.resolve(this.handlers?.onAssignment(tps)).catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  private async iterator(r: ShardReader): Promise<string> {
    const seq = r.delivered.length ? r.delivered[r.delivered.length - 1]![1] : r.committedSeq;
    const type: ShardIteratorType = seq ? 'AFTER_SEQUENCE_NUMBER' : this.fromBeginning || r.child ? 'TRIM_HORIZON' : 'LATEST';
    const out = await this.b.client.send(
      new GetShardIteratorCommand({ StreamName: r.stream, ShardId: r.shardId, ShardIteratorType: type, ...(seq ? { StartingSequenceNumber: seq } : {}) }),
    );
    return out.ShardIterator!;
  }

  private async read(r: ShardReader): Promise<void> {
    let it: string | undefined;
    let attempt = 0;
    const key = topicPartitionKey(r.tp);
    while (r.active && this.running) {
      r.wake = new AbortController();
      const pause = (ms: number) => abortableSleep(ms, AbortSignal.any([r.wake!.signal, this.stop.signal]));
      try {
        if (r.seekTo !== undefined && this.applySeek(r)) it = undefined;
        if (this.paused.has(key)) {
          await pause(this.b.opts.pollIntervalMs || 100);
          continue;
        }
        it ??= await this.iterator(r);
        const out = await this.b.client.send(new GetRecordsCommand({ ShardIterator: it, Limit: this.b.opts.maxRecords }));
        attempt = 0;
        const recs = out.Records ?? [];
        if (Date.now() - r.renewedAt >= this.b.opts.leaseDurationMs) {
          // Redis unreachable, or this process stalled: the lease may be someone else's by now.
          this.log.warn({ shard: r.field }, 'Shard lease not renewed within its duration; stopping this shard');
          this.drop(r, false);
          this.announce();
          return;
        }
        if (recs.length && r.active) {
          const msgs: InMessage[] = new Array(recs.length);
          for (let i = 0; i < recs.length; i++) {
            const x = recs[i]!;
            const arrival = x.ApproximateArrivalTimestamp?.getTime() ?? Date.now();
            const d = decodeEnvelope(Buffer.from(x.Data!.buffer, x.Data!.byteOffset, x.Data!.byteLength), arrival);
            const ord = r.nextOrd + i;
            r.delivered.push([ord, x.SequenceNumber!]);
            msgs[i] = {
              topic: r.tp.topic,
              partition: r.tp.partition,
              offset: ord,
              key: d.key,
              value: d.value,
              headers: d.headers,
              timestamp: d.timestamp,
              timestampType: d.enveloped ? 'CreateTime' : 'LogAppendTime',
            };
          }
          r.nextOrd += recs.length;
          await this.handlers!.onBatch(msgs, r.tp);
        }
        it = out.NextShardIterator;
        if (!it) {
          await this.finishShard(r);
          return;
        }
        if (!recs.length) await pause(this.b.opts.pollIntervalMs);
      } catch (err) {
        if (!r.active || !this.running) return;
        if (isExpiredIterator(err)) {
          it = undefined;
          continue;
        }
        const delay = Math.min(10_000, 200 * 2 ** Math.min(attempt++, 6));
        (isThrottle(err) ? this.log.debug.bind(this.log) : this.log.warn.bind(this.log))({ shard: r.field, err: (err as Error).message, delay }, 'GetRecords failed; retrying');
        await pause(delay);
      }
    }
  }

  /** Repositions at an ordinal still known (checkpointed or delivered); later ordinals are skipped by the runtime itself. */
  private applySeek(r: ShardReader): boolean {
    const to = r.seekTo!;
    r.seekTo = undefined;
    if (to >= r.nextOrd) return false;
    if (to === r.committedOrd) {
      r.delivered = [];
      r.nextOrd = to;
      return true;
    }
    const i = r.delivered.findIndex(([ord]) => ord === to - 1);
    if (i < 0) {
      this.log.warn({ shard: r.field, offset: to }, 'Cannot seek a Kinesis shard before its checkpoint; continuing');
      return false;
    }
    r.delivered = r.delivered.slice(0, i + 1);
    r.nextOrd = to;
    return true;
  }

  /**
   * A closed shard is finished once everything delivered is checkpointed:
   * then it is marked ended (its children become eligible) and released.
   */
  private async finishShard(r: ShardReader): Promise<void> {
    while (r.active && this.running && r.committedOrd < r.nextOrd) {
      await abortableSleep(Math.min(1000, this.b.opts.pollIntervalMs || 100), this.stop.signal);
    }
    if (!r.active || !this.running) return;
    const ok = await this.b.leases.checkpoint(this.group, r.field, this.me, r.gen, { ord: r.nextOrd, end: true });
    if (!ok) {
      this.log.warn({ shard: r.field }, 'Lease lost before the shard end was checkpointed');
      return;
    }
    r.ended = true;
    r.active = false;
    this.log.info({ shard: r.field }, 'Shard fully read and checkpointed; its children may start');
    await this.b.leases.release(this.group, r.field, this.me, r.gen).catch(() => undefined);
    if (this.readers.get(r.field) === r) this.readers.delete(r.field);
    this.announce();
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    for (const o of offsets) {
      const r = [...this.readers.values()].find((x) => x.tp.topic === o.topic && x.tp.partition === o.partition);
      if (!r || o.offset <= r.committedOrd) continue;
      const i = r.delivered.findIndex(([ord]) => ord === o.offset - 1);
      if (i < 0) continue;
      const seq = r.delivered[i]![1];
      const ok = await this.b.leases.checkpoint(this.group, r.field, this.me, r.gen, { seq, ord: o.offset });
      if (!ok) throw new RetriableError(`Kinesis checkpoint of ${r.field} refused: the shard lease was lost (generation ${r.gen})`);
      r.delivered = r.delivered.slice(i + 1);
      r.committedOrd = o.offset;
      r.committedSeq = seq;
    }
  }

  seek(o: TopicPartitionOffset): void {
    const r = [...this.readers.values()].find((x) => x.tp.topic === o.topic && x.tp.partition === o.partition);
    if (r) r.seekTo = o.offset;
  }

  pause(tps: TopicPartition[]): void {
    for (const tp of tps) this.paused.add(topicPartitionKey(tp));
  }

  resume(tps: TopicPartition[]): void {
    for (const tp of tps) this.paused.delete(topicPartitionKey(tp));
    for (const r of this.readers.values()) r.wake?.abort();
  }

  async disconnect(): Promise<void> {
    if (!this.running && this.readers.size === 0) return;
    this.running = false;
    this.stop.abort();
    await this.syncLoop?.catch(() => undefined);
    await this.renewLoop?.catch(() => undefined);
    for (const r of [...this.readers.values()]) this.drop(r, true);
    await Promise.all([...this.draining]);
    await this.b.leases.leave(this.group, this.me).catch(() => undefined);
  }
}

