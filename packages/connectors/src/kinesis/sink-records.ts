import { createHash } from 'node:crypto';
import { DataError, topicPartitionKey, type SinkRecord, type TopicPartition, type TopicPartitionOffset } from '@ferry/core';

const MAX_PARTITION_KEY_CHARS = 256;
const MAX_HASH_KEY = (1n << 128n) - 1n;

export function recordRef(r: SinkRecord): string {
  return `${r.topic}/${r.kafkaPartition}@${r.kafkaOffset}`;
}

/** Record value as the bytes written to Kinesis: bytes as is, strings as UTF-8, anything else as JSON. */
export function encodeValue(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  return Buffer.from(JSON.stringify(v, jsonReplacer) ?? 'null', 'utf8');
}

function jsonReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const orig = this[key];
  if (orig instanceof Uint8Array) return Buffer.from(orig.buffer, orig.byteOffset, orig.byteLength).toString('base64');
  if (orig instanceof Map) return Object.fromEntries(orig);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function scalarToString(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v, jsonReplacer);
  return String(v);
}

export function fieldValue(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined) return undefined;
    if (cur instanceof Map) cur = cur.get(part);
    else if (typeof cur === 'object') cur = (cur as Record<string, unknown>)[part];
    else return undefined;
  }
  return cur;
}

/**
 * The partition key: a value field, or the record key, or (null key) the
 * Kafka partition number. Keys longer than Kinesis allows (256 characters)
 * are replaced by their SHA-256, so equal keys still land on the same shard.
 */
export function partitionKeyOf(r: SinkRecord, field: string | undefined): string {
  let key: string | undefined;
  if (field) {
    key = scalarToString(fieldValue(r.value, field));
    if (key === undefined || key === '') {
      throw new DataError(`Record ${recordRef(r)} has no value for kinesis.partition.key.field "${field}"`);
    }
  } else {
    key = scalarToString(r.key);
    if (key === undefined || key === '') key = String(r.kafkaPartition);
  }
  return key.length > MAX_PARTITION_KEY_CHARS ? createHash('sha256').update(key).digest('hex') : key;
}

export function explicitHashKeyOf(r: SinkRecord, field: string | undefined): string | undefined {
  if (!field) return undefined;
  const v = fieldValue(r.value, field);
  if (v === null || v === undefined) return undefined;
  const s = typeof v === 'bigint' ? v.toString() : String(v).trim();
  if (!/^\d+$/.test(s) || BigInt(s) > MAX_HASH_KEY) {
    throw new DataError(`Record ${recordRef(r)}: kinesis.explicit.hash.key.field "${field}" must be a decimal number in 0..2^128-1, got ${JSON.stringify(s)}`);
  }
  return BigInt(s).toString();
}

/** A FIFO with O(1) push, shift and peek. */
export class Deque<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(v: T): void {
    this.items.push(v);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head];
    (this.items as Array<T | undefined>)[this.head] = undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  /** Keeps the items `keep` accepts, in order. */
  filter(keep: (v: T) => boolean): void {
    this.items = this.items.slice(this.head).filter(keep);
    this.head = 0;
  }
  toArray(): T[] {
    return this.items.slice(this.head);
  }
}

/** One record's place in its partition: done once Kinesis accepted it (or the error policy dealt with it). */
export interface TrackEntry {
  offset: number;
  done: boolean;
}

/**
 * Per topic partition, the records handed to put() in offset order. The
 * committable offset is the first record not yet done: everything before it
 * was accepted, whatever order the acknowledgements came in.
 */
export class OffsetTracker {
  private parts = new Map<string, { tp: TopicPartition; entries: Deque<TrackEntry>; next: number }>();

  track(r: SinkRecord): TrackEntry {
    const k = topicPartitionKey({ topic: r.topic, partition: r.kafkaPartition });
    let p = this.parts.get(k);
    if (!p || r.kafkaOffset < p.next) {
      // First record, or the runtime rewound the partition: start over from here.
      p = { tp: { topic: r.topic, partition: r.kafkaPartition }, entries: new Deque(), next: r.kafkaOffset };
      this.parts.set(k, p);
    }
    const e: TrackEntry = { offset: r.kafkaOffset, done: false };
    p.entries.push(e);
    p.next = r.kafkaOffset + 1;
    return e;
  }

  /**
   * Offset of the first record not yet done, or undefined when every record
   * handed over is done (then all the runtime consumed is safe: records it
   * did not hand over were filtered out before put()).
   */
  committable(tp: TopicPartition): number | undefined {
    const p = this.parts.get(topicPartitionKey(tp));
    if (!p) return undefined;
    while (p.entries.length > 0 && p.entries.peek()!.done) p.entries.shift();
    return p.entries.length > 0 ? p.entries.peek()!.offset : undefined;
  }

  /** Offsets to commit for what the runtime consumed: never past the first record not accepted. */
  safeOffsets(consumed: TopicPartitionOffset[]): TopicPartitionOffset[] {
    return consumed.map((o) => {
      const c = this.committable(o);
      return c === undefined ? o : { ...o, offset: Math.min(o.offset, c) };
    });
  }

  forget(tps: TopicPartition[]): void {
    for (const tp of tps) this.parts.delete(topicPartitionKey(tp));
  }
}
