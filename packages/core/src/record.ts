import type { Schema } from './schema.js';

/** A record header. `value` follows the same conventions as record values. */
export interface Header {
  key: string;
  value: unknown;
  schema?: Schema | null;
}

/** A topic and a partition of the stream backbone. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A position in a partition: `offset` is the next offset to read. */
export interface TopicPartitionOffset extends TopicPartition {
  offset: number;
}

/**
 * An opaque map that identifies a partition of the external system (a file,
 * a table, a shard). Only the connector interprets it; it must be
 * JSON-serializable.
 */
export type SourcePartition = Record<string, unknown>;

/** An opaque, JSON-serializable position within a {@link SourcePartition}. */
export type SourceOffset = Record<string, unknown>;

/** Fields common to records flowing in both directions. */
export interface ConnectRecord {
  topic: string;
  /** Target (source) or origin (sink) partition; null lets the backbone choose. */
  kafkaPartition?: number | null;
  keySchema?: Schema | null;
  key: unknown;
  valueSchema?: Schema | null;
  /** `null` is a tombstone. */
  value: unknown;
  /** Epoch milliseconds. */
  timestamp?: number | null;
  headers?: Header[];
}

/** A record produced by a source task. */
export interface SourceRecord extends ConnectRecord {
  sourcePartition: SourcePartition;
  sourceOffset: SourceOffset;
}

/** A record handed to a sink task. */
export interface SinkRecord extends ConnectRecord {
  kafkaPartition: number;
  /** The record's offset in its partition. */
  kafkaOffset: number;
  timestampType?: 'CreateTime' | 'LogAppendTime' | 'NoTimestampType';
}

/** Where the backbone stored a source record. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
}

/** Stable string form of a topic partition, handy as a Map key. */
export function topicPartitionKey(tp: TopicPartition): string {
  return `${tp.topic}-${tp.partition}`;
}
