import { Admin, Producer, type ClusterMetadata } from '@platformatic/kafka';
import type { RecordMetadata } from '@ferry/core';
import type { Backbone, BackboneAdmin, BackboneConsumer, BackboneProducer, OutMessage, TransactionalProducer } from './backbone.js';
import type { KafkaBackbone } from './kafka-backbone.js';
import type { KafkaConnection } from './kafka-connection.js';
import { keyPartition } from './partitioning.js';
import { clientOptions, translate, connectChecked, type PlatformaticBackboneOptions, type PlatformaticShared } from './platformatic-common.js';
import { PlatformaticConsumer } from './platformatic-consumer.js';
import { PlatformaticAdmin } from './platformatic-admin.js';

export type { PlatformaticBackboneOptions } from './platformatic-common.js';

const EMPTY = Buffer.alloc(0);

/**
 * Kafka through @platformatic/kafka: a maintained, pure TypeScript client.
 * Produce goes through its idempotent producer (acks=all); the consumer side
 * uses its group membership (JoinGroup/SyncGroup/Heartbeat in the Java
 * client's wire format, static membership) and raw Fetch requests driven here,
 * so pause, seek, revocation and batch hand-over follow the Backbone contract
 * exactly.
 */
export class PlatformaticBackbone implements Backbone, PlatformaticShared {
  readonly name = 'kafka';
  private adminClient: Admin | undefined;
  private txnBackbone: Promise<KafkaBackbone> | undefined;

  constructor(readonly opts: PlatformaticBackboneOptions) {}

  /**
   * Chunked jobs' transactions (records plus a consumer-group offset with
   * metadata, see kafka-transactions.ts) go through the kafkajs transactional
   * producer on the same connections: @platformatic/kafka's transactions are
   * used for exactly-once sources, but its transactional offset commits with
   * metadata are not wired yet. kafkajs loads on the first use, not with the
   * worker.
   */
  transactional(opts: { transactionalId: string }): TransactionalProducer {
    const { connections, clientId, logger } = this.opts;
    this.txnBackbone ??= import('./kafka-backbone.js').then((m) => new m.KafkaBackbone({ connections, clientId, logger }));
    const inner = this.txnBackbone.then((b) => b.transactional(opts));
    // Nothing to unhandle: every method below awaits it.
    inner.catch(() => undefined);
    return {
      connect: async () => (await inner).connect(),
      readMarker: async (groupId, topic, o) => (await inner).readMarker(groupId, topic, o),
      commit: async (messages, marker) => (await inner).commit(messages, marker),
      disconnect: async () => (await inner).disconnect(),
    };
  }

  producer(opts: { clientId: string; connection?: KafkaConnection }): BackboneProducer {
    return new PlatformaticProducer(opts.connection ?? this.opts.connections.producer, opts.clientId);
  }

  consumer(opts: { groupId: string; clientId: string; fromBeginning?: boolean; connection?: KafkaConnection; groupInstanceId?: string }): BackboneConsumer {
    return new PlatformaticConsumer(this, opts.connection ?? this.opts.connections.consumer, opts);
  }

  admin(): BackboneAdmin {
    return new PlatformaticAdmin(this);
  }

  /** @internal the shared admin client */
  adminConn(): Admin {
    this.adminClient ??= new Admin(clientOptions(this.opts.connections.admin, `${this.opts.clientId ?? 'ferry'}-admin`));
    return this.adminClient;
  }

  async close(): Promise<void> {
    const a = this.adminClient;
    this.adminClient = undefined;
    await a?.close().catch(() => undefined);
    const t = this.txnBackbone;
    this.txnBackbone = undefined;
    await t?.then((b) => b.close()).catch(() => undefined);
  }
}

class PlatformaticProducer implements BackboneProducer {
  private readonly p: Producer;
  /** Records without a key of one send() go to one partition, the next send() to the next one (the Java client's sticky spread). */
  private sticky = 0;

  constructor(
    private readonly conn: KafkaConnection,
    private readonly clientId: string,
  ) {
    this.p = new Producer({
      ...clientOptions(conn, clientId),
      idempotent: true,
      acks: -1,
      autocreateTopics: true,
      // The idempotent producer retries until acknowledged; the runner shows a long wait in the task status.
      retries: 20,
      retryDelay: 250,
    });
  }

  async connect(): Promise<void> {
    await connectChecked(`Producer ${this.clientId}`, this.conn, () => this.p.metadata({ topics: [] }));
  }

  /**
   * Picks every message's partition here (Kafka's murmur2 for keys, like the
   * Java client), so each record's offset follows from the broker's answer
   * (base offset of its partition + its position among that partition's records).
   */
  async send(messages: OutMessage[]): Promise<RecordMetadata[]> {
    const n = messages.length;
    if (n === 0) return [];
    let topics: string[] | undefined;
    let single = messages[0]!.topic;
    for (let i = 1; i < n; i++) {
      const t = messages[i]!.topic;
      if (t !== single && !(topics ??= [single]).includes(t)) topics.push(t);
    }
    topics ??= [single];
    let md: ClusterMetadata;
    try {
      md = await this.p.metadata({ topics, autocreateTopics: true });
    } catch (err) {
      throw translate(`Metadata of ${topics.join(',')}`, err);
    }
    const sticky = this.sticky++;
    const out: Array<{ topic: string; key: Buffer | null; value: Buffer | null; partition: number; timestamp?: bigint; headers?: Map<Buffer, Buffer> }> = new Array(n);
    const result: RecordMetadata[] = new Array(n);
    // Position of each record among its partition's records of this send (its offset = base offset + position).
    const counts = new Map<string, number[]>();
    let lastTopic = '';
    let lastCount = 1;
    let lastPositions: number[] = [];
    for (let i = 0; i < n; i++) {
      const m = messages[i]!;
      if (m.topic !== lastTopic) {
        lastTopic = m.topic;
        lastCount = md.topics.get(m.topic)?.partitionsCount ?? 1;
        let ps = counts.get(m.topic);
        if (!ps) counts.set(m.topic, (ps = new Array<number>(lastCount).fill(0)));
        lastPositions = ps;
      }
      let partition = m.partition ?? -1;
      if (partition < 0 || partition >= lastCount) partition = m.key ? keyPartition(m.key, lastCount) : sticky % lastCount;
      result[i] = { topic: m.topic, partition, offset: lastPositions[partition]!++ };
      let headers: Map<Buffer, Buffer> | undefined;
      if (m.headers && m.headers.length) {
        headers = new Map();
        // Distinct Buffer objects as keys keep repeated header names.
        for (const h of m.headers) headers.set(Buffer.from(h.key), h.value ?? EMPTY);
      }
      out[i] = { topic: m.topic, key: m.key, value: m.value, partition, timestamp: m.timestamp != null ? BigInt(m.timestamp) : undefined, headers };
    }
    let res;
    try {
      res = await this.p.send({ messages: out as never });
    } catch (err) {
      throw translate(`Producing ${n} records`, err);
    }
    // Base offset per topic and partition, looked up without building a key per record.
    const base = new Map<string, number[]>();
    for (const o of res.offsets ?? []) {
      let bs = base.get(o.topic);
      if (!bs) base.set(o.topic, (bs = []));
      bs[o.partition] = Number(o.offset);
    }
    let bases: number[] | undefined;
    lastTopic = '';
    for (let i = 0; i < n; i++) {
      const r = result[i]!;
      if (r.topic !== lastTopic) {
        lastTopic = r.topic;
        bases = base.get(r.topic);
      }
      const b = bases?.[r.partition];
      r.offset = b === undefined || b < 0 ? -1 : b + r.offset;
    }
    return result;
  }

  async disconnect(): Promise<void> {
    await this.p.close();
  }
}
