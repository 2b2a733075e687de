import { Consumer, cooperativeStickyAssigner, type ClusterMetadata, type ExtendedGroupProtocolSubscription, type GroupPartitionsAssignments, type KafkaRecord, type RecordsBatch } from '@platformatic/kafka';
import type { Logger, TopicPartition, TopicPartitionOffset } from '@ferry/core';
import type { BackboneConsumer, ConsumerHandlers, InMessage } from './backbone.js';
import type { KafkaConnection } from './kafka-connection.js';
import { rangeAssign, type AssignmentStrategy } from './assignors.js';
import { clientOptions, translate, connectChecked, type PlatformaticShared } from './platformatic-common.js';

const IS_CONTROL = 0x20;
const IS_TRANSACTIONAL = 0x10;
const NO_ABORTED: Array<{ producerId: bigint; firstOffset: bigint }> = [];
const LOG_APPEND_TIME = 0x08;
const OFFSET_OUT_OF_RANGE = 1;
const NO_HEADERS: InMessage['headers'] = Object.freeze([]) as unknown as InMessage['headers'];
const EMPTY = Buffer.alloc(0);

interface PartitionState {
  topic: string;
  partition: number;
  key: string;
  /** Next offset to fetch; undefined while being looked up. */
  position: number | undefined;
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;
const PARTITION_MAX_BYTES = 1024 * 1024;

/** One fetch: the responses, the offsets fetched from, and where each partition will be once handed over. */
interface FetchRound {
  responses: FetchResponse[];
  names: Map<string, string>;
  fetched: Map<string, number>;
  next: Map<string, number>;
}

/**
 * A group member: membership (JoinGroup/SyncGroup/Heartbeat, static
 * membership) by the client, Fetch requests and hand-over driven here.
 */
export class PlatformaticConsumer implements BackboneConsumer {
  private readonly c: Consumer;
  private readonly log: Logger;
  private handlers: ConsumerHandlers | undefined;
  private spec: { topics?: string[]; pattern?: RegExp } = {};
  private readonly assigned = new Map<string, PartitionState>();
  private readonly paused = new Set<string>();
  private readonly pendingSeeks = new Map<string, number>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  /** Group events (revocations, assignments) one after another. */
  private groupChain: Promise<void> = Promise.resolve();
  /** The batch being handed to onBatch, so a revocation waits for it. */
  private delivering: Promise<void> | undefined;
  private regexTimer: NodeJS.Timeout | undefined;
  private joined = false;
  private readonly strategy: AssignmentStrategy;
  private readonly fromBeginning: boolean;

  constructor(
    private readonly backbone: PlatformaticShared,
    private readonly conn: KafkaConnection,
    private readonly opts: { groupId: string; clientId: string; fromBeginning?: boolean; groupInstanceId?: string },
  ) {
    const b = backbone.opts;
    this.log = b.logger.child({ component: 'consumer', group: opts.groupId });
    this.strategy = b.assignmentStrategy ?? 'range';
    this.fromBeginning = opts.fromBeginning ?? true;
    this.c = new Consumer({
      ...clientOptions(conn, opts.clientId),
      groupId: opts.groupId,
      ...(opts.groupInstanceId ? { groupInstanceId: opts.groupInstanceId } : {}),
      sessionTimeout: b.sessionTimeoutMs ?? 30000,
      heartbeatInterval: b.heartbeatIntervalMs ?? 3000,
      rebalanceTimeout: Math.max(b.rebalanceTimeoutMs ?? 60000, b.sessionTimeoutMs ?? 30000),
      maxWaitTime: b.fetchMaxWaitMs ?? 250,
      maxBytes: 8 * 1024 * 1024,
      maxBytesPerPartition: PARTITION_MAX_BYTES,
      metadataMaxAge: b.metadataMaxAgeMs ?? 30000,
      autocommit: false,
      autocreateTopics: true,
      retries: 10,
    });
    this.c.on('consumer:group:join', (p) => {
      const next = (p.assignments ?? []).flatMap((a) => a.partitions.map((partition) => ({ topic: a.topic, partition })));
      this.enqueue(() => this.assign(next));
    });
    this.c.on('error', (err: Error) => this.log.warn({ err: err.message }, 'Consumer group error'));
  }

  async connect(): Promise<void> {
    await connectChecked(`Consumer of ${this.opts.groupId}`, this.conn, () => this.c.metadata({ topics: [] }));
  }

  async subscribe(spec: { topics?: string[]; pattern?: RegExp }): Promise<void> {
    this.spec = spec;
    const topics = await this.subscribedTopics();
    this.c.topics.trackAll(...topics);
  }

  private async subscribedTopics(): Promise<string[]> {
    const set = new Set(this.spec.topics ?? []);
    if (this.spec.pattern) {
      const re = this.spec.pattern;
      for (const t of await this.backbone.adminConn().listTopics()) if (re.test(t)) set.add(t);
    }
    return [...set].sort();
  }

  async run(handlers: ConsumerHandlers): Promise<void> {
    this.handlers = handlers;
    this.running = true;
    await this.c.joinGroup({
      protocols: [{ name: this.strategy, version: 3 }],
      partitionAssigner: (current, members, topics, metadata) => this.assignPartitions(current, members, topics, metadata),
      protocolsMetadata: () => this.beforeJoin(),
    });
    this.joined = true;
    this.loop = this.fetchLoop();
    if (this.spec.pattern) {
      const every = Math.max(1000, this.backbone.opts.metadataMaxAgeMs ?? 30000);
      this.regexTimer = setInterval(() => void this.refreshPattern(), every);
      this.regexTimer.unref();
    }
  }

  /** A regex subscription follows topics created (or deleted) later: a changed set rejoins the group. */
  private async refreshPattern(): Promise<void> {
    if (!this.running) return;
    try {
      const now = await this.subscribedTopics();
      const before = [...this.c.topics.current].sort();
      if (now.length === before.length && now.every((t, i) => t === before[i])) return;
      this.log.info({ topics: now }, 'Subscription pattern matches a different set of topics: rejoining the group');
      this.c.topics.untrackAll(...before.filter((t) => !now.includes(t)));
      this.c.topics.trackAll(...now.filter((t) => !before.includes(t)));
      await this.c.joinGroup({
        protocols: [{ name: this.strategy, version: 3 }],
        partitionAssigner: (current, members, topics, metadata) => this.assignPartitions(current, members, topics, metadata),
        protocolsMetadata: () => this.beforeJoin(),
      });
    } catch (err) {
      if (this.running) this.log.warn({ err: (err as Error).message }, 'Refreshing the subscription pattern failed; retrying later');
    }
  }

  /** Leader only: the group's assignment, by the protocol all members agreed on. */
  private assignPartitions(current: string, members: Map<string, ExtendedGroupProtocolSubscription>, topics: Set<string>, metadata: ClusterMetadata): GroupPartitionsAssignments[] {
    if (this.strategy === 'cooperative-sticky') return cooperativeStickyAssigner(current, members, topics, metadata);
    const plan = rangeAssign(
      [...members.values()].map((m) => ({ memberId: m.memberId, topics: m.topics ?? [] })),
      (t) => metadata.topics.get(t)?.partitionsCount ?? 0,
    );
    return [...plan.entries()].map(([memberId, byTopic]) => ({
      memberId,
      assignments: new Map([...byTopic.entries()].map(([topic, partitions]) => [topic, { topic, partitions }])),
    }));
  }

  /**
   * Runs before every JoinGroup the client sends: what this member gives up
   * is revoked (close() and the final commit) before the group can hand it to
   * another member. Eager (range): everything; cooperative: what the last
   * assignment took away.
   */
  private beforeJoin(): Promise<Buffer> {
    return new Promise<Buffer>((resolve) => {
      this.enqueue(async () => {
        let revoked: PartitionState[];
        if (this.strategy === 'cooperative-sticky') {
          const keep = new Set((this.c.assignments ?? []).flatMap((a) => a.partitions.map((p) => tpKey(a.topic, p))));
          revoked = [...this.assigned.values()].filter((s) => !keep.has(s.key));
        } else revoked = [...this.assigned.values()];
        await this.revoke(revoked);
        resolve(EMPTY);
      });
    });
  }

  private async revoke(states: PartitionState[]): Promise<void> {
    if (states.length === 0) return;
    for (const s of states) this.assigned.delete(s.key);
    await this.delivering?.catch(() => undefined);
    const tps = states.map((s) => ({ topic: s.topic, partition: s.partition }));
    try {
      await this.handlers?.onRevoke?.(tps);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'Revocation handler failed');
    }
  }

  private enqueue(fn: () => Promise<void>): void {
    this.groupChain = this.groupChain.then(fn).catch((err) => this.log.warn({ err: (err as Error).message }, 'Group event handling failed'));
  }

  /** A new assignment from SyncGroup: partitions not in it are revoked, new ones start from their committed offsets. */
  private async assign(next: TopicPartition[]): Promise<void> {
    if (!this.running) return;
    const nextKeys = new Set(next.map((tp) => tpKey(tp.topic, tp.partition)));
    await this.revoke([...this.assigned.values()].filter((s) => !nextKeys.has(s.key)));
    const added = next.filter((tp) => !this.assigned.has(tpKey(tp.topic, tp.partition)));
    const states = added.map((tp) => ({ topic: tp.topic, partition: tp.partition, key: tpKey(tp.topic, tp.partition), position: undefined as number | undefined }));
    if (states.length) {
      try {
        await this.initPositions(states);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'Reading committed offsets failed; starting from the reset position');
      }
    }
    for (const s of states) this.assigned.set(s.key, s);
    try {
      await this.handlers?.onAssignment(next);
    } finally {
      this.wake();
    }
  }

  private async initPositions(states: PartitionState[]): Promise<void> {
    const byTopic = new Map<string, number[]>();
    for (const s of states) {
      let l = byTopic.get(s.topic);
      if (!l) byTopic.set(s.topic, (l = []));
      l.push(s.partition);
    }
    const committed = await this.c.listCommittedOffsets({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
    const missing: PartitionState[] = [];
    for (const s of states) {
      const arr = committed.get(s.topic);
      const v = arr?.[s.partition];
      if (v !== undefined && v >= 0n) s.position = Number(v);
      else missing.push(s);
    }
    if (missing.length) await this.resetPositions(missing);
  }

  /** auto.offset.reset: earliest (fromBeginning) or latest. */
  private async resetPositions(states: PartitionState[]): Promise<void> {
    const topics = [...new Set(states.map((s) => s.topic))];
    const offsets = await this.c.listOffsets({ topics, timestamp: this.fromBeginning ? -2n : -1n });
    for (const s of states) s.position = Number(offsets.get(s.topic)?.[s.partition] ?? 0n);
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private idle(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(() => {
        this.wakeUp = undefined;
        r();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        r();
      };
    });
  }

  /**
   * Fetch, then hand over, with the next fetch already in flight while a
   * response is handed over (from the positions that hand-over will reach).
   */
  private async fetchLoop(): Promise<void> {
    let failures = 0;
    let inflight: Promise<FetchRound> | undefined;
    while (this.running) {
      if (!inflight) {
        const wanted = this.wanted();
        if (wanted.length === 0) {
          await this.idle(200);
          continue;
        }
        inflight = this.request(wanted);
      }
      let round: FetchRound;
      try {
        round = await inflight;
        failures = 0;
      } catch (err) {
        inflight = undefined;
        if (!this.running) break;
        failures++;
        this.log.warn({ err: (err as Error).message }, 'Fetch failed; retrying');
        await this.idle(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
        continue;
      }
      inflight = undefined;
      if (!this.running) break;
      const next = this.wanted(round);
      if (next.length) {
        inflight = this.request(next);
        inflight.catch(() => undefined);
      }
      try {
        await this.deliverAll(round);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'Handing over a fetch response failed');
      }
    }
  }

  /** Partitions to fetch and from where: after `round` is handed over, its partitions will be at its next offsets. */
  private wanted(round?: FetchRound): Array<{ s: PartitionState; from: number }> {
    const out: Array<{ s: PartitionState; from: number }> = [];
    for (const s of this.assigned.values()) {
      const seek = this.pendingSeeks.get(s.key);
      if (seek !== undefined) {
        s.position = seek;
        this.pendingSeeks.delete(s.key);
      }
      if (s.position === undefined || this.paused.has(s.key)) continue;
      const expected = round && round.fetched.get(s.key) === s.position ? round.next.get(s.key) : undefined;
      out.push({ s, from: expected ?? s.position });
    }
    return out;
  }

  private async request(wanted: Array<{ s: PartitionState; from: number }>): Promise<FetchRound> {
    const round: FetchRound = { responses: [], names: new Map(), fetched: new Map(), next: new Map() };
    const topics = [...new Set(wanted.map((w) => w.s.topic))];
    const md = await this.c.metadata({ topics });
    const byNode = new Map<number, Map<string, Array<{ partition: number; currentLeaderEpoch: number; fetchOffset: bigint; lastFetchedEpoch: number; partitionMaxBytes: number }>>>();
    for (const { s, from } of wanted) {
      const t = md.topics.get(s.topic);
      const leader = t?.partitions[s.partition]?.leader;
      if (!t || leader === undefined || leader < 0) continue;
      round.names.set(t.id, s.topic);
      let nodeTopics = byNode.get(leader);
      if (!nodeTopics) byNode.set(leader, (nodeTopics = new Map()));
      let parts = nodeTopics.get(t.id);
      if (!parts) nodeTopics.set(t.id, (parts = []));
      parts.push({ partition: s.partition, currentLeaderEpoch: -1, fetchOffset: BigInt(from), lastFetchedEpoch: -1, partitionMaxBytes: PARTITION_MAX_BYTES });
      round.fetched.set(s.key, from);
    }
    if (byNode.size === 0) {
      await this.idle(200);
      return round;
    }
    round.responses = await Promise.all(
      [...byNode].map(async ([node, nodeTopics]) => {
        try {
          return await this.c.fetch({ node, topics: [...nodeTopics].map(([topicId, partitions]) => ({ topicId, partitions })) });
        } catch (err) {
          const response = (err as { response?: FetchResponse }).response;
          if (response) return response;
          throw err;
        }
      }),
    );
    for (const res of round.responses) {
      for (const t of res.responses) {
        const topic = round.names.get(t.topicId) ?? t.topicId;
        for (const p of t.partitions) {
          const batches = p.records;
          if (p.errorCode !== 0 || !batches?.length) continue;
          const last = batches[batches.length - 1]!;
          round.next.set(tpKey(topic, p.partitionIndex), Number(last.firstOffset) + last.lastOffsetDelta + 1);
        }
      }
    }
    return round;
  }

  private async deliverAll(round: FetchRound): Promise<void> {
    for (const res of round.responses) {
      for (const t of res.responses) {
        const topic = round.names.get(t.topicId) ?? t.topicId;
        for (const p of t.partitions) {
          if (!this.running) return;
          const key = tpKey(topic, p.partitionIndex);
          const s = this.assigned.get(key);
          const from = round.fetched.get(key);
          if (!s || from === undefined || s.position !== from) continue;
          if (p.errorCode === OFFSET_OUT_OF_RANGE) {
            this.log.warn({ topic, partition: p.partitionIndex, offset: from }, 'Offset out of range: resetting');
            await this.resetPositions([s]);
            continue;
          }
          if (p.errorCode !== 0 || !p.records?.length) continue;
          await this.deliver(s, from, p.records, p.abortedTransactions);
        }
      }
    }
  }

  private async deliver(
    s: PartitionState,
    from: number,
    batches: RecordsBatch[],
    abortedTransactions?: Array<{ producerId: bigint; firstOffset: bigint }> | null,
  ): Promise<void> {
    const msgs: InMessage[] = [];
    let next = from;
    const { topic, partition } = s;
    // read_committed as the Java client does it: the fetch's aborted transactions by first offset; from
    // there, a producer's transactional batches are skipped until its abort marker. (The client's own
    // filter keeps one range per producer and skips none whose marker lies beyond the fetch.)
    const aborted = abortedTransactions?.length ? [...abortedTransactions].sort((x, y) => (x.firstOffset < y.firstOffset ? -1 : x.firstOffset > y.firstOffset ? 1 : 0)) : NO_ABORTED;
    let nextAborted = 0;
    const abortedProducers = new Set<bigint>();
    for (const b of batches) {
      const base = Number(b.firstOffset);
      const end = base + b.lastOffsetDelta + 1;
      if (end > next) next = end;
      if (aborted.length) {
        while (nextAborted < aborted.length && Number(aborted[nextAborted]!.firstOffset) < end) abortedProducers.add(aborted[nextAborted++]!.producerId);
        if (b.attributes & IS_CONTROL) {
          // Control record key: version (int16), type (int16): 0 = abort, 1 = commit.
          const key = b.records[0]?.key;
          if (key && key.length >= 4 && key.readInt16BE(2) === 0) abortedProducers.delete(b.producerId);
          continue;
        }
        if (b.attributes & IS_TRANSACTIONAL && abortedProducers.has(b.producerId)) continue;
      }
      if (b.attributes & IS_CONTROL) continue;
      const logAppend = (b.attributes & LOG_APPEND_TIME) !== 0;
      const ts0 = Number(logAppend ? b.maxTimestamp : b.firstTimestamp);
      const type = logAppend ? 'LogAppendTime' : 'CreateTime';
      const records: KafkaRecord[] = b.records;
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        const offset = base + r.offsetDelta;
        if (offset < from) continue;
        const h = r.headers;
        let headers = NO_HEADERS;
        if (h.length) {
          headers = new Array(h.length);
          for (let j = 0; j < h.length; j++) headers[j] = { key: h[j]![0]?.toString() ?? '', value: h[j]![1] };
        }
        msgs.push({
          topic,
          partition,
          offset,
          key: r.key,
          value: r.value,
          headers,
          timestamp: logAppend ? ts0 : ts0 + Number(r.timestampDelta),
          timestampType: type,
        });
      }
    }
    if (msgs.length) {
      const d = this.handlers!.onBatch(msgs, { topic, partition });
      this.delivering = d;
      try {
        await d;
      } finally {
        this.delivering = undefined;
      }
    }
    // A seek or a revocation meanwhile wins over the fetched position.
    if (this.assigned.get(s.key) === s && s.position === from && !this.pendingSeeks.has(s.key)) s.position = next;
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    try {
      await this.c.commit({ offsets: offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset), leaderEpoch: -1 })) });
    } catch (err) {
      // e.g. a rebalance in progress: the next commit carries these offsets.
      throw translate('Offset commit', err, true);
    }
  }

  seek(o: TopicPartitionOffset): void {
    this.pendingSeeks.set(tpKey(o.topic, o.partition), o.offset);
    this.wake();
  }

  pause(tps: TopicPartition[]): void {
    for (const tp of tps) this.paused.add(tpKey(tp.topic, tp.partition));
  }

  resume(tps: TopicPartition[]): void {
    for (const tp of tps) this.paused.delete(tpKey(tp.topic, tp.partition));
    this.wake();
  }

  async disconnect(): Promise<void> {
    if (!this.running && !this.joined) {
      await this.c.close().catch(() => undefined);
      return;
    }
    this.running = false;
    if (this.regexTimer) clearInterval(this.regexTimer);
    this.wake();
    await this.loop?.catch(() => undefined);
    await this.groupChain;
    if (this.opts.groupInstanceId) {
      // A static member leaves without LeaveGroup: restarted within the session timeout, it gets its partitions back without a rebalance.
      this.c.memberId = null;
      await Promise.resolve(this.c.leaveGroup(true)).catch(() => undefined);
    }
    await this.c.close(true).catch((err) => this.log.debug({ err: (err as Error).message }, 'Consumer close failed'));
  }
}
