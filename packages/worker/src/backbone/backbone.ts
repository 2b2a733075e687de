import type { RecordMetadata, TopicPartition, TopicPartitionOffset } from '@ferry/core';
import type { KafkaConnection } from './kafka-connection.js';

/**
 * The narrow interface through which the runtime reads and writes streams:
 * named streams (topics) of partitions with offsets. Kafka implements it;
 * another log (e.g. Kinesis shards with sequence numbers) can implement it
 * without touching the runners.
 */
export interface OutMessage {
  topic: string;
  /** null/undefined: the backbone picks (by key hash, else spread). */
  partition?: number | null;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Array<{ key: string; value: Buffer | null }>;
  timestamp?: number | null;
}

export interface InMessage {
  topic: string;
  partition: number;
  /**
   * The backbone's position of the message in its partition: dense and
   * increasing, stable across restarts, and what commit()/seek() take back.
   * Kafka: the offset. Kinesis: the record's ordinal in its shard, which the
   * backbone maps to the sequence number (docs/kinesis-backbone.md).
   */
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: string; value: Buffer | null }>;
  timestamp: number;
  timestampType: 'CreateTime' | 'LogAppendTime';
}

export interface BackboneProducer {
  connect(): Promise<void>;
  /** Writes messages durably (acks=all); resolves with each one's position, in order. */
  send(messages: OutMessage[]): Promise<RecordMetadata[]>;
  disconnect(): Promise<void>;
}

export interface ConsumerHandlers {
  /** A batch of one partition, in offset order. The next batch of that partition waits for this one. */
  onBatch(messages: InMessage[], tp: TopicPartition): Promise<void>;
  /** The full new assignment after a rebalance. */
  onAssignment(assigned: TopicPartition[]): Promise<void> | void;
  /**
   * Partitions this member gives up, before any other member can be assigned
   * them: the last commit and close() belong here. No batch of them is being
   * handed over while it runs, and none follows.
   */
  onRevoke?(revoked: TopicPartition[]): Promise<void> | void;
}

export interface BackboneConsumer {
  connect(): Promise<void>;
  subscribe(spec: { topics?: string[]; pattern?: RegExp }): Promise<void>;
  run(handlers: ConsumerHandlers): Promise<void>;
  /** Commits the next offsets to read. */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  seek(offset: TopicPartitionOffset): void;
  pause(tps: TopicPartition[]): void;
  resume(tps: TopicPartition[]): void;
  disconnect(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  numPartitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface BackboneAdmin {
  clusterId(): Promise<string>;
  listTopics(): Promise<string[]>;
  /** Creates topics that do not exist yet; existing ones are left alone. */
  ensureTopics(specs: TopicSpec[]): Promise<void>;
  partitionCount(topic: string): Promise<number>;
  committedOffsets(groupId: string, topics: string[]): Promise<TopicPartitionOffset[]>;
  /** Sets (or, with null offsets, deletes) a consumer group's committed offsets. The group must be empty. */
  alterGroupOffsets(groupId: string, offsets: Array<TopicPartition & { offset: number | null }>): Promise<void>;
  deleteGroup(groupId: string): Promise<void>;
  endOffsets(topic: string): Promise<TopicPartitionOffset[]>;
}

/** A position recorded atomically with a transaction: a consumer-group offset (with metadata) on partition 0 of `topic`. */
export interface ChunkMarker {
  groupId: string;
  topic: string;
  offset: number;
  metadata: string;
}

export interface MarkerReadOptions {
  /** Called whenever the read waits for a pending transactional commit of the marker. */
  onPending?: () => void;
  signal?: AbortSignal;
}

/** A producer whose writes and a marker become visible together (Kafka transactions). */
export interface TransactionalProducer {
  /** Connects and fences any earlier producer of the same transactional id (its open transaction is aborted). */
  connect(): Promise<void>;
  /**
   * The committed marker of a group, or null. Stable (KIP-447 require_stable): while a transaction with an
   * offset commit for it is still open or being completed, the read waits for its outcome.
   */
  readMarker(groupId: string, topic: string, opts?: MarkerReadOptions): Promise<{ offset: number; metadata: string | null } | null>;
  /** Writes the messages and the marker in one transaction. */
  commit(messages: OutMessage[], marker: ChunkMarker): Promise<void>;
  disconnect(): Promise<void>;
}

export interface Backbone {
  readonly name: string;
  /** `connection` replaces the backbone's producer connection for this client (a connector's allowed overrides). */
  producer(opts: { clientId: string; connection?: KafkaConnection }): BackboneProducer;
  /** `connection` replaces the backbone's consumer connection for this client (a connector's allowed overrides). */
  consumer(opts: { groupId: string; clientId: string; fromBeginning?: boolean; connection?: KafkaConnection; groupInstanceId?: string }): BackboneConsumer;
  admin(): BackboneAdmin;
  /** A transactional producer (backbones without transactions leave it out: chunked jobs then need one). */
  transactional?(opts: { transactionalId: string }): TransactionalProducer;
  close(): Promise<void>;
}
