import { createHash } from 'node:crypto';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  ListStreamsCommand,
  PutRecordsCommand,
  type KinesisClient,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';
import { abortableSleep, ConfigError, NotConnectedError, RetriableError, type Logger, type RecordMetadata, type TopicPartition, type TopicPartitionOffset } from '@ferry/core';
import type { Backbone, BackboneAdmin, BackboneConsumer, BackboneProducer, OutMessage, TopicSpec } from '../backbone.js';
import { RedisShardLeaseStore } from '../../stores/redis-shard-lease-store.js';
import { createClient, errorName, isInUse, isNotFound, isThrottle, listShards, shardIdOf, shardOrdinal, type KinesisClientSettings } from './client.js';
import { encodeEnvelope } from './envelope.js';
import { KinesisConsumer } from './kinesis-consumer.js';
import type { KinesisContext } from './context.js';

export interface KinesisBackboneOptions {
  client: KinesisClientSettings;
  logger: Logger;
  /** Stream name = prefix + topic. */
  streamPrefix: string;
  /** Shards of streams created on demand; 0: on-demand capacity mode. */
  streamShards: number;
  redisUrl: string;
  leaseDurationMs: number;
  pollIntervalMs: number;
  /** GetRecords limit per call. */
  maxRecords: number;
  shardSyncIntervalMs: number;
}

const MAX_PUT_RECORDS = 500;
const MAX_PUT_BYTES = 4 * 1024 * 1024;

/**
 * Amazon Kinesis Data Streams as the backbone: a topic is a stream, a shard
 * is a partition (its number is the shard id's numeric suffix), and the
 * offset the runtime sees is the record's ordinal in its shard, counted from
 * the shard's first record read by the group. Checkpoints store the ordinal
 * with the Kinesis sequence number it stands for, so ordinals are the same
 * after a restart and the runtime never handles a sequence number.
 */
export class KinesisBackbone implements Backbone, KinesisContext {
  readonly name = 'kinesis';
  readonly client: KinesisClient;
  readonly leases: RedisShardLeaseStore;
  private readonly ready = new Map<string, Promise<void>>();

  constructor(readonly opts: KinesisBackboneOptions) {
    this.client = createClient(opts.client);
    this.leases = new RedisShardLeaseStore(opts.redisUrl);
  }

  streamOf(topic: string): string {
    return this.opts.streamPrefix + topic;
  }

  topicOf(stream: string): string | null {
    return stream.startsWith(this.opts.streamPrefix) ? stream.slice(this.opts.streamPrefix.length) : null;
  }

  producer(opts: { clientId: string; connection?: unknown }): BackboneProducer {
    refuseKafkaConnection(opts.connection, 'producer');
    return new KinesisProducer(this, opts.clientId);
  }

  consumer(opts: { groupId: string; clientId: string; fromBeginning?: boolean; connection?: unknown }): BackboneConsumer {
    refuseKafkaConnection(opts.connection, 'consumer');
    return new KinesisConsumer(this, opts.groupId, opts.clientId, opts.fromBeginning ?? true);
  }

  admin(): BackboneAdmin {
    return new KinesisAdmin(this);
  }

  listTopics(): Promise<string[]> {
    return this.admin().listTopics();
  }

  /** Creates the topic's stream if missing (with `shards`, else the configured count) and waits until it takes writes. */
  ensureStream(topic: string, shards?: number): Promise<void> {
    const stream = this.streamOf(topic);
    let p = this.ready.get(stream);
    if (!p) {
      p = this.createAndWait(stream, shards ?? this.opts.streamShards);
      this.ready.set(stream, p);
      p.catch(() => this.ready.delete(stream));
    }
    return p;
  }

  private async createAndWait(stream: string, shards: number): Promise<void> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      let status: string | undefined;
      try {
        status = (await this.client.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary?.StreamStatus;
      } catch (err) {
        if (!isNotFound(err)) throw wrap(err, `Cannot describe Kinesis stream ${stream}`);
        try {
          await this.client.send(
            new CreateStreamCommand(shards > 0 ? { StreamName: stream, ShardCount: shards } : { StreamName: stream, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }),
          );
          this.opts.logger.info({ stream, shards: shards > 0 ? shards : 'on-demand' }, 'Created Kinesis stream');
        } catch (e) {
          if (!isInUse(e)) throw wrap(e, `Cannot create Kinesis stream ${stream}`);
        }
      }
      if (status === 'ACTIVE' || status === 'UPDATING') return;
      if (Date.now() > deadline) throw new RetriableError(`Kinesis stream ${stream} is not active yet (${status ?? 'creating'})`);
      await abortableSleep(250);
    }
  }

  async close(): Promise<void> {
    await this.leases.close();
    this.client.destroy();
  }
}

/** A connector's Kafka connection overrides have no meaning here: refused rather than silently ignored. */
function refuseKafkaConnection(connection: unknown, which: 'producer' | 'consumer'): void {
  if (connection === undefined) return;
  const message = `${which}.override.* Kafka connection settings apply to backbone=kafka only; this worker runs backbone=kinesis`;
  throw new ConfigError({ [`${which}.override`]: [message] }, message);
}

/** Network failures and throttling are retriable; an unreachable endpoint is "not connected". */
export function wrap(err: unknown, what: string): Error {
  const code = (err as { code?: string }).code ?? '';
  const msg = `${what}: ${errorName(err) || 'Error'}: ${(err as Error).message}`;
  if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(code)) return new NotConnectedError(msg, { cause: err });
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (isThrottle(err) || status === undefined || status >= 500) return new RetriableError(msg, { cause: err });
  return err instanceof Error ? err : new Error(msg);
}

/**
 * The partition key of a record: its key as text when that is valid UTF-8 of
 * 1-256 characters (readable by other Kinesis consumers), else the hex
 * SHA-256 of the key bytes. Equal keys always map to one shard. A null key
 * takes the next of a per-producer counter (`~<n>`), so keyless records are
 * spread round-robin over the hash space.
 */
export function partitionKeyOf(key: Buffer | null, next: () => number): string {
  if (!key || key.length === 0) return `~${next()}`;
  if (key.length <= 256) {
    const s = key.toString('utf8');
    if (s.length <= 256 && !s.includes('\uFFFD') && !s.startsWith('~')) return s;
  }
  return createHash('sha256').update(key).digest('hex');
}

class KinesisProducer implements BackboneProducer {
  private counter = 0;

  constructor(
    private readonly b: KinesisBackbone,
    private readonly clientId: string,
  ) {}

  async connect(): Promise<void> {
    try {
      await this.b.client.send(new ListStreamsCommand({ Limit: 1 }));
    } catch (err) {
      throw new NotConnectedError(`Producer ${this.clientId} cannot reach Kinesis: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * PutRecords per topic in chunks. Records a shard refused (throttled) are
   * sent again, together with the later records of the same partition keys,
   * so the last copy of each key's records arrives in order.
   */
  async send(messages: OutMessage[]): Promise<RecordMetadata[]> {
    const result: RecordMetadata[] = new Array(messages.length);
    const byTopic = new Map<string, number[]>();
    for (let i = 0; i < messages.length; i++) {
      const t = messages[i]!.topic;
      let a = byTopic.get(t);
      if (!a) byTopic.set(t, (a = []));
      a.push(i);
    }
    const now = Date.now();
    for (const [topic, idx] of byTopic) {
      await this.b.ensureStream(topic);
      const stream = this.b.streamOf(topic);
      const entries = idx.map((i) => {
        const m = messages[i]!;
        return {
          i,
          e: {
            PartitionKey: partitionKeyOf(m.key, () => this.counter++),
            Data: encodeEnvelope({ key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp ?? now }),
          } as PutRecordsRequestEntry,
        };
      });
      let start = 0;
      while (start < entries.length) {
        let end = start;
        let bytes = 0;
        while (end < entries.length && end - start < MAX_PUT_RECORDS) {
          const size = (entries[end]!.e.Data as Uint8Array).length + entries[end]!.e.PartitionKey!.length;
          if (end > start && bytes + size > MAX_PUT_BYTES) break;
          bytes += size;
          end++;
        }
        await this.put(stream, topic, entries.slice(start, end), result);
        start = end;
      }
    }
    return result;
  }

  private async put(stream: string, topic: string, chunk: Array<{ i: number; e: PutRecordsRequestEntry }>, result: RecordMetadata[]): Promise<void> {
    let pending = chunk;
    const started = Date.now();
    for (let attempt = 0; pending.length; attempt++) {
      let out;
      try {
        out = await this.b.client.send(new PutRecordsCommand({ StreamName: stream, Records: pending.map((p) => p.e) }));
      } catch (err) {
        const e = wrap(err, `PutRecords to ${stream}`);
        if (!(e instanceof RetriableError) || Date.now() - started > 120_000) throw e;
        await abortableSleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)));
        continue;
      }
      const failedKeys = new Set<string>();
      const again: typeof pending = [];
      out.Records!.forEach((r, j) => {
        const p = pending[j]!;
        if (r.ErrorCode || failedKeys.has(p.e.PartitionKey!)) {
          if (r.ErrorCode) failedKeys.add(p.e.PartitionKey!);
          again.push(p);
        } else result[p.i] = { topic, partition: shardOrdinal(r.ShardId!), offset: -1 };
      });
      pending = again;
      if (pending.length) {
        if (Date.now() - started > 120_000) throw new RetriableError(`PutRecords to ${stream}: ${pending.length} records still refused after 120 s`);
        await abortableSleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  async disconnect(): Promise<void> {}
}

class KinesisAdmin implements BackboneAdmin {
  constructor(private readonly b: KinesisBackbone) {}

  async clusterId(): Promise<string> {
    return `kinesis:${this.b.opts.client.region}`;
  }

  async listTopics(): Promise<string[]> {
    const topics: string[] = [];
    let start: string | undefined;
    for (;;) {
      const out = await this.b.client.send(new ListStreamsCommand(start ? { ExclusiveStartStreamName: start } : {}));
      const names = out.StreamNames ?? [];
      for (const s of names) {
        const t = this.b.topicOf(s);
        if (t !== null && t !== '') topics.push(t);
      }
      if (!out.HasMoreStreams || names.length === 0) break;
      start = names[names.length - 1];
    }
    return topics;
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    for (const s of specs) await this.b.ensureStream(s.topic, s.numPartitions && s.numPartitions > 0 ? s.numPartitions : undefined);
  }

  async partitionCount(topic: string): Promise<number> {
    try {
      return (await listShards(this.b.client, this.b.streamOf(topic))).filter((s) => !s.SequenceNumberRange?.EndingSequenceNumber).length;
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw err;
    }
  }

  async committedOffsets(groupId: string, topics: string[]): Promise<TopicPartitionOffset[]> {
    const wanted = new Set(topics.map((t) => this.b.streamOf(t)));
    const out: TopicPartitionOffset[] = [];
    for (const [field, cp] of await this.b.leases.checkpoints(groupId)) {
      const [stream, shard] = splitField(field);
      if (!wanted.has(stream)) continue;
      out.push({ topic: this.b.topicOf(stream)!, partition: shardOrdinal(shard), offset: cp.ord });
    }
    return out;
  }

  /**
   * Only resets: ordinals are counted by the reading group, so an arbitrary
   * ordinal has no sequence number to start from.
   */
  async alterGroupOffsets(groupId: string, offsets: Array<TopicPartition & { offset: number | null }>): Promise<void> {
    if (offsets.some((o) => o.offset !== null)) {
      const message = 'The Kinesis backbone can only reset sink offsets (offset null): a shard position is a sequence number, its ordinal is counted by the group as it reads';
      throw new ConfigError({ offsets: [message] }, message);
    }
    await this.b.leases.deleteCheckpoints(
      groupId,
      offsets.map((o) => `${this.b.streamOf(o.topic)}/${shardIdOf(o.partition)}`),
    );
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.b.leases.deleteGroup(groupId);
  }

  /** Kinesis has no end offset in ordinals; consumer lag is not reported for this backbone. */
  async endOffsets(_topic: string): Promise<TopicPartitionOffset[]> {
    return [];
  }
}

export function splitField(field: string): [string, string] {
  const i = field.lastIndexOf('/');
  return [field.slice(0, i), field.slice(i + 1)];
}
