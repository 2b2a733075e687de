import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import { waitFor } from './util.js';

export const BOOTSTRAP = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';

let client: Kafka | undefined;
function kafka(): Kafka {
  client ??= new Kafka({ clientId: 'ferry-test', brokers: [BOOTSTRAP], logLevel: logLevel.NOTHING });
  return client;
}

export async function createTopic(topic: string, numPartitions = 1): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

export interface TestMessage {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  partition?: number;
  headers?: IHeaders;
  timestamp?: string;
}

export async function produce(topic: string, messages: TestMessage[]): Promise<void> {
  const p = kafka().producer({ allowAutoTopicCreation: true });
  await p.connect();
  try {
    for (let i = 0; i < messages.length; i += 1000) await p.send({ topic, acks: -1, messages: messages.slice(i, i + 1000) });
  } finally {
    await p.disconnect();
  }
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  timestamp: string;
}

/**
 * Reads a topic from the beginning until `count` messages arrived (or, with
 * `settleMs`, until no more arrive for that long), then returns them in
 * partition and offset order.
 */
export async function consume(topic: string, opts: { count?: number; timeoutMs?: number; settleMs?: number } = {}): Promise<ConsumedMessage[]> {
  const out: ConsumedMessage[] = [];
  const admin = kafka().admin();
  await admin.connect();
  try {
    await waitFor(async () => (await admin.listTopics()).includes(topic), { timeoutMs: opts.timeoutMs ?? 30000, message: `topic ${topic} to exist` });
  } finally {
    await admin.disconnect();
  }
  const c = kafka().consumer({ groupId: `ferry-test-${Date.now()}-${Math.random().toString(36).slice(2)}`, maxWaitTimeInMs: 100 });
  await c.connect();
  let lastArrival = Date.now();
  try {
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        lastArrival = Date.now();
        out.push({ topic: t, partition, offset: Number(message.offset), key: message.key, value: message.value, headers: message.headers ?? {}, timestamp: message.timestamp });
      },
    });
    await waitFor(
      () => (opts.count !== undefined ? out.length >= opts.count : out.length > 0 || opts.settleMs !== undefined) && (!opts.settleMs || Date.now() - lastArrival >= opts.settleMs),
      { timeoutMs: opts.timeoutMs ?? 30000, message: `${opts.count ?? 'some'} messages on ${topic} (got ${out.length})` },
    ).catch((err) => {
      if (opts.settleMs !== undefined && opts.count === undefined) return;
      throw err;
    });
  } finally {
    await c.disconnect();
  }
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** End offsets (sum over partitions) of a topic. */
export async function topicSize(topic: string): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    const offs = await admin.fetchTopicOffsets(topic);
    return offs.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Sum of a consumer group's committed offsets on a topic (0 when none). */
export async function committedTotal(groupId: string, topic: string): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const res = await admin.fetchOffsets({ groupId, topics: [topic] });
    return res.flatMap((t) => t.partitions).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** True once a sink's consumer group has committed the whole topic: everything produced was delivered. */
export async function drained(groupId: string, topic: string): Promise<boolean> {
  const [size, done] = await Promise.all([topicSize(topic), committedTotal(groupId, topic)]);
  return size > 0 && done === size;
}
