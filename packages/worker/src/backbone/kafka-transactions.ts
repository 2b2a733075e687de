import { Partitioners, type IHeaders, type Kafka, type Producer } from 'kafkajs';
import { NotConnectedError } from '@ferry/core';
import type { ChunkMarker, MarkerReadOptions, OutMessage, TransactionalProducer } from './backbone.js';
import { readStableMarker } from './stable-offsets.js';
import type { Admin as StableAdmin } from '@platformatic/kafka';

/** Keeps each produce request of a transaction well under Kafka's default message.max.bytes. */
const MAX_REQUEST_BYTES = 768 * 1024;

/** Record headers in kafkajs' shape (repeated names become arrays). */
export function toHeaders(h: OutMessage['headers']): IHeaders | undefined {
  if (!h || h.length === 0) return undefined;
  const out: IHeaders = {};
  for (const { key, value } of h) {
    const v = value ?? Buffer.alloc(0);
    const prev = out[key];
    if (prev === undefined) out[key] = v;
    else out[key] = Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/**
 * A transactional kafkajs producer: the messages of one `commit()` and a
 * marker (a consumer-group offset with metadata) become visible together or
 * not at all. Connecting with the same transactional id fences an earlier
 * producer of that id and aborts its open transaction, so a crashed attempt
 * can never add anything afterwards. Markers are read with require_stable,
 * so a read right after the fence sees the fenced producer's last commit.
 */
export class KafkaTransactionalProducer implements TransactionalProducer {
  private readonly p: Producer;

  constructor(
    kafka: Kafka,
    /** The client that reads markers with require_stable (see stable-offsets.ts). */
    private readonly stableAdmin: () => StableAdmin,
    private readonly transactionalId: string,
  ) {
    this.p = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60000,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: true,
      // As the runtime's producer: retried until acknowledged (kafkajs warns that fewer retries weaken idempotence).
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 10000 },
    });
  }

  async connect(): Promise<void> {
    try {
      await this.p.connect();
    } catch (err) {
      throw new NotConnectedError(`Transactional producer ${this.transactionalId} cannot reach Kafka: ${(err as Error).message}`, { cause: err });
    }
  }

  async readMarker(groupId: string, topic: string, o?: MarkerReadOptions): Promise<{ offset: number; metadata: string | null } | null> {
    return readStableMarker(this.stableAdmin(), groupId, topic, o);
  }

  async commit(messages: OutMessage[], marker: ChunkMarker): Promise<void> {
    const txn = await this.p.transaction();
    try {
      let i = 0;
      while (i < messages.length) {
        let bytes = 0;
        const byTopic = new Map<string, Array<{ key: Buffer | null; value: Buffer | null; headers?: IHeaders; timestamp?: string; partition?: number }>>();
        while (i < messages.length && (bytes === 0 || bytes < MAX_REQUEST_BYTES)) {
          const m = messages[i++]!;
          bytes += 70 + (m.key?.length ?? 0) + (m.value?.length ?? 0);
          let list = byTopic.get(m.topic);
          if (!list) byTopic.set(m.topic, (list = []));
          list.push({
            key: m.key,
            value: m.value,
            headers: toHeaders(m.headers),
            timestamp: m.timestamp === null || m.timestamp === undefined ? undefined : String(m.timestamp),
            ...(m.partition === null || m.partition === undefined ? {} : { partition: m.partition }),
          });
        }
        await txn.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })) });
      }
      await txn.sendOffsets({
        consumerGroupId: marker.groupId,
        topics: [{ topic: marker.topic, partitions: [{ partition: 0, offset: String(marker.offset), metadata: marker.metadata } as never] }],
      });
      await txn.commit();
    } catch (err) {
      await txn.abort().catch(() => undefined);
      throw err;
    }
  }

  async disconnect(): Promise<void> {
    await this.p.disconnect().catch(() => undefined);
  }
}
