import { Producer, murmur2 } from '@platformatic/kafka';
import { Config, defineConfig, type CommittedOffset, type ConnectorConfig, type RecordMetadata } from '@ferry/core';
import type { BackboneProducer, OutMessage } from '../backbone/backbone.js';
import { offsetKey } from '../stores/kafka-offset-store.js';
import type { ConfigInfos } from '../herder/validation.js';
import type { SourceTransactions } from '../runtime/source-task-runner.js';
import { partitionFor, type KafkaLog } from './kafka-log.js';
import type { KafkaConnection } from '../backbone/kafka-connection.js';
import { platformaticConnection } from './kafka-client-options.js';

/** A source connector's exactly-once options (KIP-618). */
export const ExactlyOnceSourceConfig = defineConfig({
  'exactly.once.support': Config.enum(['requested', 'required'] as const, {
    doc: 'Whether the connector must run with exactly-once delivery (required) or only asks for it (requested).',
    default: 'requested',
  }),
  'transaction.boundary': Config.enum(['poll', 'interval', 'connector'] as const, {
    doc: 'Where transactions end: after each poll, every transaction.boundary.interval.ms, or where the connector says.',
    default: 'poll',
  }),
  'transaction.boundary.interval.ms': Config.long({ doc: 'With transaction.boundary=interval: the transaction length (ms; default offset.flush.interval.ms).', optional: true, min: 1 }),
});

export type TransactionBoundary = 'poll' | 'interval';

export interface TransactionalOptions {
  /** The worker's producer connection (TLS, SASL). */
  connection: KafkaConnection;
  clientId: string;
  /** `<group.id>-<connector>-<task>`, as Kafka Connect names it: a new owner fences the old one. */
  transactionalId: string;
  offsetsTopic: string;
  offsetsPartitions: number;
  connector: string;
}

/**
 * One source task's transactional producer: its records and their source
 * offsets (to the offsets topic) commit or abort together. Starting it
 * fences any earlier producer of the same task (a zombie's open transaction
 * is aborted, its later writes refused).
 */
export class TransactionalSourceProducer implements BackboneProducer {
  private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  private txn: Awaited<ReturnType<Producer<Buffer, Buffer, Buffer, Buffer>['beginTransaction']>> | undefined;

  constructor(private readonly opts: TransactionalOptions) {
    this.producer = new Producer({
      ...platformaticConnection(opts.connection),
      clientId: opts.clientId,
      transactionalId: opts.transactionalId,
      idempotent: true,
      acks: -1,
      retries: 5,
      // As the backbone's producers: a missing topic is created with the broker's defaults.
      autocreateTopics: true,
      // Keyed records land where the Java client would put them.
      partitioner: (_m, key) => (Buffer.isBuffer(key) ? murmur2(key) & 0x7fffffff : Math.floor(Math.random() * 0x7fffffff)),
    });
  }

  async connect(): Promise<void> {}

  /** Registers the transactional id with the coordinator: earlier producers of this task are fenced, their open transaction aborted. */
  async fence(): Promise<void> {
    await this.open();
  }

  private async open() {
    // producerId/epoch -1 ask the coordinator for the transactional id's current producer, bumping its epoch
    // (without them the client asks for producer 0 epoch 0, which the broker refuses once the id exists).
    this.txn ??= await this.producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
    return this.txn;
  }

  get inTransaction(): boolean {
    return this.txn !== undefined;
  }

  async send(messages: OutMessage[]): Promise<RecordMetadata[]> {
    const txn = await this.open();
    const res = await txn.send({
      messages: messages.map((m) => ({
        topic: m.topic,
        ...(m.partition === null || m.partition === undefined ? {} : { partition: m.partition }),
        key: m.key ?? undefined,
        value: m.value as Buffer,
        headers: Object.fromEntries((m.headers ?? []).map((h) => [h.key, h.value as Buffer])),
        ...(m.timestamp ? { timestamp: BigInt(m.timestamp) } : {}),
      })),
    });
    // The produce answer gives each partition's last offset: good enough for commitRecord().
    const last = new Map((res.offsets ?? []).map((o) => [`${o.topic}:${o.partition}`, Number(o.offset)]));
    return messages.map((m) => ({ topic: m.topic, partition: m.partition ?? -1, offset: last.get(`${m.topic}:${m.partition ?? -1}`) ?? -1 }));
  }

  /** Writes the offsets into the open transaction and commits it (opens one when only offsets moved). */
  async commit(offsets: CommittedOffset[]): Promise<void> {
    if (!this.txn && offsets.length === 0) return;
    const txn = await this.open();
    if (offsets.length) {
      await txn.send({
        messages: offsets.map((o) => {
          const key = Buffer.from(offsetKey(this.opts.connector, o.partition));
          return { topic: this.opts.offsetsTopic, key, value: Buffer.from(JSON.stringify(o.offset)), partition: partitionFor(key, this.opts.offsetsPartitions) };
        }),
      });
    }
    this.txn = undefined;
    await txn.commit();
  }

  async disconnect(): Promise<void> {
    const txn = this.txn;
    this.txn = undefined;
    if (txn) await txn.abort().catch(() => undefined);
    await this.producer.close().catch(() => undefined);
  }
}

/** What a worker with exactly.once.source.support=enabled gives its source tasks. */
export interface ExactlyOnceWorker {
  /** The worker's producer connection. */
  connection: KafkaConnection;
  groupId: string;
  clientId: string;
  offsetsTopic: KafkaLog;
  offsetsTopicName: string;
}

export interface ExactlyOnceTask {
  producer: TransactionalSourceProducer;
  transactions: SourceTransactions;
}

/** A source task's transactional producer and boundaries, from its connector's options. */
export function exactlyOnceTask(w: ExactlyOnceWorker, connector: string, task: number, connectorConfig: ConnectorConfig, flushIntervalMs: number): ExactlyOnceTask {
  const opts = ExactlyOnceSourceConfig.parse(connectorConfig);
  if (opts['transaction.boundary'] === 'connector') throw new Error('transaction.boundary=connector needs a connector that defines its own transactions; use poll or interval');
  const producer = new TransactionalSourceProducer({
    connection: w.connection,
    clientId: `${w.clientId}-${connector}-${task}-tx`,
    transactionalId: `${w.groupId}-${connector}-${task}`,
    offsetsTopic: w.offsetsTopicName,
    offsetsPartitions: w.offsetsTopic.partitions,
    connector,
  });
  return {
    producer,
    transactions: {
      boundary: opts['transaction.boundary'],
      intervalMs: opts['transaction.boundary.interval.ms'] ?? flushIntervalMs,
      commit: (offsets) => producer.commit(offsets),
    },
  };
}

/** KIP-618's checks, added to a validation answer: a connector that requires exactly-once needs a worker that provides it. */
export function addExactlyOnceErrors(config: Record<string, string>, workerSupport: string, infos: ConfigInfos): void {
  const errors: Array<[string, string]> = [];
  try {
    const eos = ExactlyOnceSourceConfig.parse(config);
    if (eos['exactly.once.support'] === 'required' && workerSupport !== 'enabled') {
      errors.push(['exactly.once.support', 'This worker does not have exactly-once source support enabled (exactly.once.source.support=enabled).']);
    }
    if (eos['transaction.boundary'] === 'connector') errors.push(['transaction.boundary', 'The connector does not define its own transaction boundaries.']);
  } catch (err) {
    errors.push(['exactly.once.support', (err as Error).message]);
  }
  for (const [name, message] of errors) {
    infos.configs.push({
      definition: { name, type: 'STRING', required: false, default_value: null, importance: 'MEDIUM', documentation: '', group: 'Exactly Once Support', order_in_group: infos.configs.length + 1, width: 'NONE', display_name: name, dependents: [] },
      value: { name, value: config[name] ?? null, recommended_values: [], errors: [message], visible: true },
    });
    infos.error_count++;
  }
}
