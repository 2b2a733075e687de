import { Consumer, Producer, murmur2 } from '@platformatic/kafka';
import type { Logger } from '@ferry/core';
import type { KafkaConnection } from '../backbone/kafka-connection.js';
import { platformaticConnection } from './kafka-client-options.js';

export interface LogRecord {
  key: string | null;
  value: Buffer | null;
  partition: number;
  offset: bigint;
}

export interface KafkaLogOptions {
  /** The worker's consumer and producer connections (TLS, SASL). */
  connections: { consumer: KafkaConnection; producer: KafkaConnection };
  clientId: string;
  topic: string;
  logger: Logger;
  /** Called for every record, in offset order per partition. */
  onRecord(r: LogRecord): void;
  /** Read only committed transactions (the offsets topic of exactly-once sources). */
  readCommitted?: boolean;
}

interface Batch {
  firstOffset: bigint;
  attributes: number;
  producerId: bigint;
  records: Array<{ offsetDelta: number; key: Buffer | null; value: Buffer | null }>;
}

const IS_TRANSACTIONAL = 0x10;
const IS_CONTROL = 0x20;
const READ_COMMITTED = 1;

/** Kafka's default partitioner (as the Java client computes it), so keys land where Kafka Connect puts them. */
export function partitionFor(key: Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/**
 * A compacted topic read from its beginning and followed to its end (Kafka
 * Connect's KafkaBasedLog): every worker holds the same view of configs,
 * offsets and statuses. `readToEnd()` resolves once everything written
 * before the call has been applied; `send()` resolves once the broker
 * acknowledged (acks=all).
 */
export class KafkaLog {
  private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>;
  private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  private positions: bigint[] = [];
  private topicId = '';
  private leaders: number[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private waiters: Array<{ ends: bigint[]; resolve: () => void }> = [];
  partitions = 0;
  private readonly isolation: number;

  constructor(private readonly opts: KafkaLogOptions) {
    this.isolation = opts.readCommitted ? READ_COMMITTED : 0;
    this.consumer = new Consumer({
      clientId: `${opts.clientId}-${opts.topic}-reader`,
      groupId: `${opts.clientId}-${opts.topic}-reader-unused`,
      ...platformaticConnection(opts.connections.consumer),
      retries: 3,
    });
    this.producer = new Producer({
      clientId: `${opts.clientId}-${opts.topic}-writer`,
      ...platformaticConnection(opts.connections.producer),
      acks: -1,
      idempotent: true,
      retries: 5,
    });
  }

  async start(): Promise<void> {
    await this.refreshMetadata();
    this.positions = new Array(this.partitions).fill(0n);
    const starts = await this.consumer.listOffsets({ topics: [this.opts.topic], timestamp: -2n });
    const earliest = starts.get(this.opts.topic) ?? [];
    for (let p = 0; p < this.partitions; p++) this.positions[p] = earliest[p] ?? 0n;
    this.running = true;
    this.loop = this.run();
    await this.readToEnd();
  }

  private async refreshMetadata(): Promise<void> {
    const md = await this.consumer.metadata({ topics: [this.opts.topic], forceUpdate: true });
    const t = md.topics.get(this.opts.topic);
    if (!t) throw new Error(`Topic ${this.opts.topic} not found`);
    this.topicId = t.id;
    this.partitions = t.partitionsCount;
    this.leaders = t.partitions.map((p) => p.leader);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop?.catch(() => undefined);
    await this.consumer.close().catch(() => undefined);
    await this.producer.close().catch(() => undefined);
  }

  /** Resolves when every record written before this call has been applied. */
  async readToEnd(timeoutMs = 30000): Promise<void> {
    const ends = await this.consumer.listOffsets({ topics: [this.opts.topic], timestamp: -1n, isolationLevel: this.isolation });
    const list = ends.get(this.opts.topic) ?? [];
    if (this.caughtUp(list)) return;
    await new Promise<void>((resolve, reject) => {
      const waiter = { ends: list, resolve };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`Timed out reading ${this.opts.topic} to its end`));
      }, timeoutMs);
      waiter.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(waiter);
    });
  }

  /** The total of the read positions (Kafka Connect's config offset for a one-partition topic). */
  get position(): bigint {
    return this.positions.reduce((a, b) => a + b, 0n);
  }

  private caughtUp(ends: bigint[]): boolean {
    return ends.every((e, p) => (this.positions[p] ?? 0n) >= e);
  }

  async send(records: Array<{ key: string; value: Buffer | null; partition?: number }>): Promise<void> {
    if (records.length === 0) return;
    await this.producer.send({
      messages: records.map((r) => {
        const key = Buffer.from(r.key, 'utf8');
        return { topic: this.opts.topic, key, value: r.value as Buffer, partition: r.partition ?? partitionFor(key, this.partitions) };
      }),
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const byLeader = new Map<number, number[]>();
        for (let p = 0; p < this.partitions; p++) {
          const l = this.leaders[p] ?? 0;
          byLeader.set(l, [...(byLeader.get(l) ?? []), p]);
        }
        await Promise.all(
          [...byLeader].map(async ([node, parts]) => {
            const res = await this.consumer.fetch({
              node,
              maxWaitTime: 200,
              isolationLevel: this.isolation,
              topics: [
                {
                  topicId: this.topicId,
                  partitions: parts.map((p) => ({ partition: p, currentLeaderEpoch: -1, fetchOffset: this.positions[p]!, lastFetchedEpoch: -1, partitionMaxBytes: 4 * 1024 * 1024 })),
                },
              ],
            });
            for (const t of res.responses) {
              for (const part of t.partitions) {
                if (part.errorCode !== 0) {
                  await this.refreshMetadata();
                  continue;
                }
                this.apply(part.partitionIndex, (part.records ?? []) as Batch[], part.abortedTransactions ?? []);
              }
            }
          }),
        );
        this.notify();
      } catch (err) {
        if (!this.running) break;
        this.opts.logger.warn({ topic: this.opts.topic, err: (err as Error).message }, 'Reading the topic failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
        await this.refreshMetadata().catch(() => undefined);
      }
    }
  }

  /** Applies fetched batches; with read_committed, records of aborted transactions are skipped (the broker sends them with the list of aborts). */
  private apply(partition: number, batches: Batch[], aborted: Array<{ producerId: bigint; firstOffset: bigint }>): void {
    const pendingAborts = [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1));
    const abortedProducers = new Set<bigint>();
    for (const b of batches) {
      const lastOffset = b.firstOffset + BigInt(b.records[b.records.length - 1]?.offsetDelta ?? 0);
      while (pendingAborts.length && pendingAborts[0]!.firstOffset <= lastOffset) abortedProducers.add(pendingAborts.shift()!.producerId);
      const control = (b.attributes & IS_CONTROL) !== 0;
      const skip = this.isolation === READ_COMMITTED && (b.attributes & IS_TRANSACTIONAL) !== 0 && abortedProducers.has(b.producerId);
      if (control && b.records[0]?.key && b.records[0].key.length >= 4 && b.records[0].key.readInt16BE(2) === 0) abortedProducers.delete(b.producerId);
      for (const r of b.records) {
        const offset = b.firstOffset + BigInt(r.offsetDelta);
        if (offset < this.positions[partition]!) continue;
        this.positions[partition] = offset + 1n;
        if (control || skip) continue;
        try {
          this.opts.onRecord({ key: r.key ? r.key.toString('utf8') : null, value: r.value, partition, offset });
        } catch (err) {
          this.opts.logger.error({ topic: this.opts.topic, offset: String(offset), err: (err as Error).message }, 'Record not applied');
        }
      }
    }
  }

  private notify(): void {
    if (this.waiters.length === 0) return;
    const done = this.waiters.filter((w) => this.caughtUp(w.ends));
    this.waiters = this.waiters.filter((w) => !done.includes(w));
    for (const w of done) w.resolve();
  }
}
