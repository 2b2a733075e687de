import type { ConnectionOptions } from 'node:tls';
import { AssignerProtocol, Kafka, logLevel, Partitioners, type Admin, type Consumer, type IHeaders, type KafkaConfig, type PartitionAssigner, type Producer, type SASLOptions } from 'kafkajs';
import { rangeAssign } from './assignors.js';
import { ConnectError, NotConnectedError, RetriableError, type Logger, type RecordMetadata, type TopicPartition, type TopicPartitionOffset } from '@ferry/core';
import type {
  Backbone,
  BackboneAdmin,
  BackboneConsumer,
  BackboneProducer,
  ConsumerHandlers,
  InMessage,
  OutMessage,
  TopicSpec,
  TransactionalProducer,
} from './backbone.js';
import type { KafkaConnection, KafkaConnections, KafkaSasl, KafkaTls } from './kafka-connection.js';
import { tlsPreflight } from './tls-preflight.js';
import { connectFailure } from './connect-failure.js';

export { connectFailure };
import { KafkaTransactionalProducer, toHeaders } from './kafka-transactions.js';
import { stableOffsetAdmin } from './stable-offsets.js';
import type { Admin as StableAdmin } from '@platformatic/kafka';

/**
 * Kafka through kafkajs. kafkajs is pure JavaScript and no longer actively
 * developed; it stays behind the Backbone interface so another client can
 * replace it without touching the runtime.
 */
export interface KafkaBackboneOptions {
  /** How each kind of client reaches the cluster (brokers, TLS, SASL). */
  connections: KafkaConnections;
  clientId?: string;
  logger: Logger;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  fetchMaxWaitMs?: number;
}

/** kafkajs' TLS options from a client-neutral connection. */
function kafkajsSsl(tls: KafkaTls | undefined): KafkaConfig['ssl'] {
  if (!tls) return undefined;
  const ssl: ConnectionOptions = { rejectUnauthorized: true };
  if (tls.ca) ssl.ca = [tls.ca];
  if (tls.cert) ssl.cert = tls.cert;
  if (tls.key) ssl.key = tls.key;
  if (tls.passphrase !== undefined) ssl.passphrase = tls.passphrase;
  if (!tls.checkServerIdentity) ssl.checkServerIdentity = () => undefined;
  return ssl;
}

function kafkajsSasl(sasl: KafkaSasl | undefined): SASLOptions | undefined {
  if (!sasl) return undefined;
  const mechanism = sasl.mechanism.toLowerCase() as 'plain' | 'scram-sha-256' | 'scram-sha-512';
  return { mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
}

/**
 * A failed connect: wrong credentials or a certificate the client refuses are
 * not fixed by retrying, so they are plain ConnectErrors (the task fails and
 * its restart backoff applies); anything else is NotConnectedError (retried).
 */

function connectionKey(conn: KafkaConnection): string {
  return JSON.stringify([conn.brokers, conn.tls ?? null, conn.sasl ?? null, conn.connectionTimeoutMs ?? null, conn.requestTimeoutMs ?? null]);
}

function toKafkaLogLevel(l: number): 'error' | 'warn' | 'info' | 'debug' {
  return l === logLevel.ERROR ? 'error' : l === logLevel.WARN ? 'warn' : l === logLevel.INFO ? 'info' : 'debug';
}


const NO_HEADERS: InMessage['headers'] = Object.freeze([]) as unknown as InMessage['headers'];

function fromHeaders(h: IHeaders | undefined): InMessage['headers'] {
  if (!h) return NO_HEADERS;
  let any = false;
  for (const _ in h) {
    any = true;
    break;
  }
  if (!any) return NO_HEADERS;
  const out: InMessage['headers'] = [];
  for (const [key, v] of Object.entries(h)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) out.push({ key, value: item === null ? null : Buffer.isBuffer(item) ? item : Buffer.from(item) });
  }
  return out;
}

/** kafkajs's transient errors (retriable flag, connection and timeout errors) become RetriableError at the interface. */
function translate(what: string, err: unknown, always = false): unknown {
  const e = err as Error & { retriable?: boolean };
  if (!(e instanceof Error)) return err;
  const transient = always || e.retriable === true || /KafkaJS(Connection|RequestTimeout|NumberOfRetriesExceeded|BrokerNotFound|LockTimeout)/.test(e.name);
  return transient ? new RetriableError(`${what}: ${e.message}`, { cause: e }) : err;
}

/**
 * The Java consumer's `range` protocol (subscription and assignment in the
 * consumer protocol's version 0 layout), so kafkajs members can share a
 * group with Java consumers and Kafka Connect sinks.
 */
const javaRangeAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'range',
  version: 0,
  async assign({ members }) {
    const subs = members.map((m) => ({ memberId: m.memberId, topics: AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics ?? [] }));
    await cluster.refreshMetadataIfNecessary();
    const plan = rangeAssign(subs, (t) => {
      try {
        return cluster.findTopicPartitionMetadata(t).length;
      } catch {
        return 0;
      }
    });
    return [...plan].map(([memberId, byTopic]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: Object.fromEntries(byTopic), userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: 'range', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});

/**
 * Members of one group join one at a time: kafkajs members joining at the
 * same instant can leave the group stuck in a rebalance. Each waits for the
 * previous one's first assignment (or 10 s).
 */
const joinGates = new Map<string, Promise<void>>();
const JOIN_GATE_MS = 10_000;

export class KafkaBackbone implements Backbone {
  readonly name = 'kafka';
  /** One kafkajs client per distinct connection (the worker's own, and each connector's allowed overrides). */
  private readonly clients = new Map<string, Kafka>();
  /** Connections whose TLS set-up was seen to work. */
  private readonly tlsChecked = new Set<string>();
  private adminClient: Admin | undefined;
  private adminConnecting: Promise<Admin> | undefined;
  /** @platformatic/kafka admin for the markers of chunked jobs: kafkajs' OffsetFetch has no require_stable. */
  private stableAdmin: StableAdmin | undefined;
  private readonly partitionCounts = new Map<string, number>();

  constructor(private readonly opts: KafkaBackboneOptions) {}

  /**
   * Before a client connects: a refused certificate fails at once with the
   * TLS error (kafkajs would retry it like a network error for half a minute).
   * @internal
   */
  async checkTls(what: string, conn: KafkaConnection): Promise<void> {
    if (!conn.tls) return;
    const key = connectionKey(conn);
    if (this.tlsChecked.has(key)) return;
    const err = await tlsPreflight(conn, conn.connectionTimeoutMs ?? 5000);
    if (err) throw connectFailure(what, err);
    this.tlsChecked.add(key);
  }

  /** The kafkajs client of a connection, made on first use. */
  private client(conn: KafkaConnection): Kafka {
    const key = connectionKey(conn);
    let k = this.clients.get(key);
    if (k) return k;
    const log = this.opts.logger.child({ component: 'kafkajs' });
    k = new Kafka({
      clientId: this.opts.clientId ?? 'ferry',
      brokers: conn.brokers,
      ssl: kafkajsSsl(conn.tls),
      sasl: kafkajsSasl(conn.sasl),
      connectionTimeout: conn.connectionTimeoutMs ?? 3000,
      authenticationTimeout: conn.connectionTimeoutMs ?? 10000,
      requestTimeout: conn.requestTimeoutMs ?? 30000,
      retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 10000 },
      logLevel: logLevel.WARN,
      logCreator: () => (entry) => {
        const { message, timestamp: _t, logger: _l, ...rest } = entry.log as Record<string, unknown> & { message: string };
        // A metadata answer for a topic about to be created is expected, not an error.
        const level = /does not host this topic-partition/.test(String(rest.error)) ? 'debug' : toKafkaLogLevel(entry.level);
        log[level]({ ...rest, ns: entry.namespace }, message);
      },
    });
    this.clients.set(key, k);
    return k;
  }

  producer(opts: { clientId: string; connection?: KafkaConnection }): BackboneProducer {
    const conn = opts.connection ?? this.opts.connections.producer;
    const producer = this.client(conn).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: true,
      // The idempotent producer retries until acknowledged; the runner shows a long wait in the task status.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 10000 },
    });
    return new KafkaProducer(producer, this, opts.clientId, conn);
  }

  consumer(opts: { groupId: string; clientId: string; fromBeginning?: boolean; connection?: KafkaConnection; groupInstanceId?: string }): BackboneConsumer {
    if (opts.groupInstanceId) throw new Error('kafkajs has no static membership (group.instance.id): use kafka.client=platformatic');
    const conn = opts.connection ?? this.opts.connections.consumer;
    const c = this.client(conn).consumer({
      groupId: opts.groupId,
      partitionAssigners: [javaRangeAssigner],
      sessionTimeout: this.opts.sessionTimeoutMs ?? 30000,
      rebalanceTimeout: 60000,
      heartbeatInterval: this.opts.heartbeatIntervalMs ?? 3000,
      maxWaitTimeInMs: this.opts.fetchMaxWaitMs ?? 250,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      allowAutoTopicCreation: true,
      retry: { retries: 10 },
    });
    return new KafkaConsumer(c, opts.fromBeginning ?? true, this, conn, opts.groupId);
  }

  admin(): BackboneAdmin {
    return new KafkaAdmin(this);
  }

  transactional(opts: { transactionalId: string }): TransactionalProducer {
    return new KafkaTransactionalProducer(
      this.client(this.opts.connections.producer),
      () => (this.stableAdmin ??= stableOffsetAdmin(this.opts.connections.admin, `${this.opts.clientId ?? 'ferry'}-markers`)),
      opts.transactionalId,
    );
  }

  /** @internal shared, lazily connected admin client */
  async adminConn(): Promise<Admin> {
    if (this.adminClient) return this.adminClient;
    this.adminConnecting ??= (async () => {
      const a = this.client(this.opts.connections.admin).admin({ retry: { retries: 5 } });
      try {
        await this.checkTls('The admin client', this.opts.connections.admin);
      } catch (err) {
        this.adminConnecting = undefined;
        throw err;
      }
      try {
        await a.connect();
      } catch (err) {
        this.adminConnecting = undefined;
        throw connectFailure(`The admin client (${this.opts.connections.admin.brokers.join(',')})`, err);
      }
      this.adminClient = a;
      return a;
    })();
    return this.adminConnecting;
  }

  /** @internal cached partition counts for partition assignment */
  async partitionsOf(topic: string, refresh = false): Promise<number> {
    const cached = this.partitionCounts.get(topic);
    if (cached !== undefined && !refresh) return cached;
    const admin = await this.adminConn();
    let n = 0;
    try {
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      n = md.topics[0]?.partitions.length ?? 0;
    } catch (err) {
      if (!/does not host this topic-partition|UNKNOWN_TOPIC/i.test(`${(err as Error).message} ${(err as { type?: string }).type ?? ''}`)) throw err;
    }
    if (n > 0) this.partitionCounts.set(topic, n);
    return n;
  }

  async close(): Promise<void> {
    const a = this.adminClient;
    this.adminClient = undefined;
    this.adminConnecting = undefined;
    await a?.disconnect().catch(() => undefined);
    const s = this.stableAdmin;
    this.stableAdmin = undefined;
    await s?.close().catch(() => undefined);
  }
}

class KafkaProducer implements BackboneProducer {
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private connected = false;

  constructor(
    private readonly p: Producer,
    private readonly backbone: KafkaBackbone,
    private readonly clientId: string,
    private readonly conn: KafkaConnection,
  ) {}

  async connect(): Promise<void> {
    await this.backbone.checkTls(`Producer ${this.clientId}`, this.conn);
    try {
      await this.p.connect();
      this.connected = true;
    } catch (err) {
      throw connectFailure(`Producer ${this.clientId}`, err);
    }
  }

  /**
   * Picks every message's partition here (Kafka's murmur2 for keys, like the
   * Java client), so each record's offset is known from the broker's answer.
   */
  async send(messages: OutMessage[]): Promise<RecordMetadata[]> {
    if (messages.length === 0) return [];
    const groups = new Map<string, { topic: string; partition: number; idx: number[]; msgs: Array<{ key: Buffer | null; value: Buffer | null; headers?: IHeaders; timestamp?: string }> }>();
    const where: Array<{ topic: string; partition: number; pos: number }> = new Array(messages.length);
    const counts = new Map<string, number>();
    const metadata = new Map<string, Array<{ partitionId: number; leader: number; partitionErrorCode: number; replicas: number[]; isr: number[] }>>();
    for (let i = 0; i < messages.length; i++) {
      const t = messages[i]!.topic;
      if (counts.has(t)) continue;
      const n = await this.countFor(t);
      counts.set(t, n);
      metadata.set(t, Array.from({ length: n }, (_, id) => ({ partitionId: id, leader: 0, partitionErrorCode: 0, replicas: [], isr: [] })));
    }
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const n = counts.get(m.topic)!;
      let partition = m.partition ?? -1;
      if (partition < 0 || partition >= n) {
        partition = this.partitioner({
          topic: m.topic,
          partitionMetadata: metadata.get(m.topic)!,
          message: { key: m.key, value: m.value },
        });
      }
      const gk = `${m.topic}\u0000${partition}`;
      let g = groups.get(gk);
      if (!g) groups.set(gk, (g = { topic: m.topic, partition, idx: [], msgs: [] }));
      where[i] = { topic: m.topic, partition, pos: g.msgs.length };
      g.idx.push(i);
      g.msgs.push({
        key: m.key,
        value: m.value,
        headers: toHeaders(m.headers),
        timestamp: m.timestamp != null ? String(m.timestamp) : undefined,
      });
    }
    const topicMessages = new Map<string, Array<{ partition: number; key: Buffer | null; value: Buffer | null; headers?: IHeaders; timestamp?: string }>>();
    for (const g of groups.values()) {
      let arr = topicMessages.get(g.topic);
      if (!arr) topicMessages.set(g.topic, (arr = []));
      for (const m of g.msgs) arr.push({ ...m, partition: g.partition });
    }
    let result;
    try {
      result = await this.p.sendBatch({
        acks: -1,
        timeout: 30000,
        topicMessages: [...topicMessages.entries()].map(([topic, msgs]) => ({ topic, messages: msgs })),
      });
    } catch (err) {
      throw translate(`Producing ${messages.length} records`, err);
    }
    const base = new Map<string, number>();
    for (const r of result) base.set(`${r.topicName}\u0000${r.partition}`, Number(r.baseOffset ?? r.offset ?? -1));
    return where.map((w) => {
      const b = base.get(`${w.topic}\u0000${w.partition}`);
      return { topic: w.topic, partition: w.partition, offset: b === undefined || b < 0 ? -1 : b + w.pos };
    });
  }

  private async countFor(topic: string): Promise<number> {
    let n = await this.backbone.partitionsOf(topic);
    if (n === 0) {
      // Not there yet: a metadata request for it lets the broker auto-create it.
      const admin = await this.backbone.adminConn();
      try {
        await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
      } catch {
        /* created concurrently, or auto-creation handles it */
      }
      n = await this.backbone.partitionsOf(topic, true);
    }
    return Math.max(n, 1);
  }

  async disconnect(): Promise<void> {
    if (this.connected) await this.p.disconnect();
    this.connected = false;
  }
}

class KafkaConsumer implements BackboneConsumer {
  private assignment: TopicPartition[] = [];

  constructor(
    private readonly c: Consumer,
    private readonly fromBeginning: boolean,
    private readonly backbone: KafkaBackbone,
    private readonly conn: KafkaConnection,
    private readonly groupId: string,
  ) {}

  async connect(): Promise<void> {
    await this.backbone.checkTls('Consumer', this.conn);
    try {
      await this.c.connect();
    } catch (err) {
      throw connectFailure('Consumer', err);
    }
  }

  async subscribe(spec: { topics?: string[]; pattern?: RegExp }): Promise<void> {
    if (spec.pattern) {
      // kafkajs resolves a pattern once, at subscribe: topics created later would never be consumed.
      throw new Error('topics.regex needs kafka.client=platformatic: kafkajs never sees topics created later than the subscription');
    }
    const topics: Array<string | RegExp> = [...(spec.topics ?? [])];
    await this.c.subscribe({ topics, fromBeginning: this.fromBeginning });
  }

  async run(handlers: ConsumerHandlers): Promise<void> {
    const previous = joinGates.get(this.groupId) ?? Promise.resolve();
    let joined!: () => void;
    const mine = new Promise<void>((r) => (joined = r));
    const gate = previous.then(() => mine);
    joinGates.set(this.groupId, gate);
    const giveUp = setTimeout(() => joined(), JOIN_GATE_MS);
    void mine.then(() => {
      clearTimeout(giveUp);
      if (joinGates.get(this.groupId) === gate) joinGates.delete(this.groupId);
    });
    await Promise.race([previous, new Promise((r) => setTimeout(r, JOIN_GATE_MS).unref())]);
    this.c.on(this.c.events.GROUP_JOIN, async (e) => {
      joined();
      const ma = e.payload.memberAssignment as Record<string, number[]>;
      this.assignment = Object.entries(ma).flatMap(([topic, parts]) => parts.map((partition) => ({ topic, partition })));
      await handlers.onAssignment(this.assignment);
    });
    this.c.on(this.c.events.CRASH, () => joined());
    await this.c.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const tp = { topic: batch.topic, partition: batch.partition };
        const msgs: InMessage[] = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: Number(m.offset),
          key: m.key,
          value: m.value,
          headers: fromHeaders(m.headers),
          timestamp: Number(m.timestamp),
          timestampType: 'CreateTime',
        }));
        await handlers.onBatch(msgs, tp);
      },
    });
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    try {
      await this.c.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })));
    } catch (err) {
      // e.g. a rebalance in progress: the next commit carries these offsets.
      throw translate('Offset commit', err, true);
    }
  }

  seek(o: TopicPartitionOffset): void {
    this.c.seek({ topic: o.topic, partition: o.partition, offset: String(o.offset) });
  }

  pause(tps: TopicPartition[]): void {
    if (tps.length) this.c.pause(groupByTopic(tps));
  }

  resume(tps: TopicPartition[]): void {
    if (tps.length) this.c.resume(groupByTopic(tps));
  }

  async disconnect(): Promise<void> {
    await this.c.disconnect();
  }
}

function groupByTopic(tps: TopicPartition[]): Array<{ topic: string; partitions: number[] }> {
  const m = new Map<string, number[]>();
  for (const tp of tps) {
    let a = m.get(tp.topic);
    if (!a) m.set(tp.topic, (a = []));
    a.push(tp.partition);
  }
  return [...m.entries()].map(([topic, partitions]) => ({ topic, partitions }));
}

class KafkaAdmin implements BackboneAdmin {
  constructor(private readonly b: KafkaBackbone) {}

  async clusterId(): Promise<string> {
    const a = await this.b.adminConn();
    return (await a.describeCluster()).clusterId;
  }

  async listTopics(): Promise<string[]> {
    return (await this.b.adminConn()).listTopics();
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    if (specs.length === 0) return;
    const a = await this.b.adminConn();
    const existing = new Set(await a.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return;
    try {
      await a.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.numPartitions ?? -1,
          replicationFactor: s.replicationFactor ?? -1,
          configEntries: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (err) {
      if (!/already exists/i.test((err as Error).message)) throw err;
    }
  }

  async partitionCount(topic: string): Promise<number> {
    return this.b.partitionsOf(topic, true);
  }

  async committedOffsets(groupId: string, topics: string[]): Promise<TopicPartitionOffset[]> {
    const a = await this.b.adminConn();
    const existing = new Set(await a.listTopics());
    const res = await a.fetchOffsets({ groupId, topics: topics.filter((t) => existing.has(t)) });
    return res.flatMap((t) =>
      t.partitions.filter((p) => Number(p.offset) >= 0).map((p) => ({ topic: t.topic, partition: p.partition, offset: Number(p.offset) })),
    );
  }

  async alterGroupOffsets(groupId: string, offsets: Array<TopicPartition & { offset: number | null }>): Promise<void> {
    const a = await this.b.adminConn();
    const set = offsets.filter((o) => o.offset !== null);
    const reset = offsets.filter((o) => o.offset === null);
    for (const [topic, partitions] of groupEntries(set)) {
      await a.setOffsets({ groupId, topic, partitions: partitions.map((p) => ({ partition: p.partition, offset: String(p.offset) })) });
    }
    if (reset.length) {
      // kafkajs has no OffsetDelete: resetting means "start from the earliest" again.
      for (const [topic, partitions] of groupEntries(reset)) {
        const low = await a.fetchTopicOffsetsByTimestamp(topic, 0);
        await a.setOffsets({
          groupId,
          topic,
          partitions: partitions.map((p) => ({ partition: p.partition, offset: low.find((l) => l.partition === p.partition)?.offset ?? '0' })),
        });
      }
    }
  }

  async deleteGroup(groupId: string): Promise<void> {
    const a = await this.b.adminConn();
    try {
      await a.deleteGroups([groupId]);
    } catch (err) {
      if (!/does not exist|GROUP_ID_NOT_FOUND|not found/i.test(String((err as Error).message) + JSON.stringify((err as { groups?: unknown }).groups ?? ''))) throw err;
    }
  }

  async endOffsets(topic: string): Promise<TopicPartitionOffset[]> {
    const a = await this.b.adminConn();
    const r = await a.fetchTopicOffsets(topic);
    return r.map((p) => ({ topic, partition: p.partition, offset: Number(p.high) }));
  }
}

function groupEntries<T extends TopicPartition>(items: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) {
    let a = m.get(i.topic);
    if (!a) m.set(i.topic, (a = []));
    a.push(i);
  }
  return m;
}
