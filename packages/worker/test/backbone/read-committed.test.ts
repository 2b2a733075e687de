/**
 * read_committed through the default backbone's consumer, against the real
 * broker: records of aborted transactions never reach a sink, however the
 * aborted transactions lie in the log. Three layouts the client library's
 * own filter gets wrong (it keeps one range per producer, and skips none
 * whose abort marker lies beyond the fetch):
 * - one producer aborting twice, then committing (a chunk attempt fenced twice);
 * - two producers whose transactions overlap and end in the other order
 *   (two attempts killed together: the broker lists aborted transactions by
 *   when they ended);
 * - an aborted transaction larger than one fetch of the partition.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { InMessage } from '../../src/backbone/backbone.js';
import { PlatformaticBackbone } from '../../src/backbone/platformatic-backbone.js';
import { LogManager } from '../../src/logging.js';

const BROKER = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';
const conn = { brokers: [BROKER] };
const uid = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;

describe('read_committed (default backbone)', () => {
  const kafka = new Kafka({ clientId: 'rc-test', brokers: [BROKER], logLevel: logLevel.NOTHING });
  const producers: Producer[] = [];
  const backbone = new PlatformaticBackbone({
    connections: { admin: conn, producer: conn, consumer: conn },
    clientId: 'rc-test',
    logger: new LogManager({ level: 'ERROR' }).get('test'),
    fetchMaxWaitMs: 100,
  });
  after(async () => {
    for (const p of producers) await p.disconnect().catch(() => undefined);
    await backbone.close();
  });

  async function txProducer(): Promise<Producer> {
    const p = kafka.producer({ transactionalId: uid('rc-tx'), idempotent: true, maxInFlightRequests: 1 });
    producers.push(p);
    await p.connect();
    return p;
  }

  const values = (tag: string, n: number, size = 20) => Array.from({ length: n }, (_, i) => ({ value: `${tag}-${i}-${'x'.repeat(size)}` }));

  it('delivers exactly the committed records, whatever the layout of the aborted ones', { timeout: 180_000 }, async () => {
    const topic = uid('rc');
    await backbone.admin().ensureTopics([{ topic, numPartitions: 1 }]);
    const committed: string[] = [];
    const commitTxn = async (p: Producer, tag: string, n: number) => {
      const t = await p.transaction();
      const msgs = values(tag, n);
      await t.send({ topic, messages: msgs, acks: -1 });
      await t.commit();
      committed.push(...msgs.map((m) => m.value));
    };

    // 1. One producer aborts twice, then commits.
    const p1 = await txProducer();
    for (const tag of ['p1-abort-a', 'p1-abort-b']) {
      const t = await p1.transaction();
      await t.send({ topic, messages: values(tag, 100), acks: -1 });
      await t.abort();
    }
    await commitTxn(p1, 'p1-commit', 50);

    // 2. Two producers overlap; the one that began later ends (aborts) first.
    const p2 = await txProducer();
    const p3 = await txProducer();
    const t2 = await p2.transaction();
    await t2.send({ topic, messages: values('p2-abort', 60), acks: -1 });
    const t3 = await p3.transaction();
    await t3.send({ topic, messages: values('p3-abort', 60), acks: -1 });
    await t2.send({ topic, messages: values('p2-abort-more', 60), acks: -1 });
    await t3.abort();
    await t2.abort();
    await commitTxn(p2, 'p2-commit', 40);

    // 3. An aborted transaction of about 3 MiB: more than one fetch of the partition (1 MiB).
    const p4 = await txProducer();
    const t4 = await p4.transaction();
    for (let i = 0; i < 3; i++) await t4.send({ topic, messages: values(`p4-abort-${i}`, 100, 10_000), acks: -1 });
    await t4.abort();
    await commitTxn(p4, 'p4-commit', 30);
    await commitTxn(p1, 'end', 1);

    const got: InMessage[] = [];
    const consumer = backbone.consumer({ groupId: uid('rc-g'), clientId: uid('rc-c'), fromBeginning: true });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    let sawEnd!: () => void;
    const ended = new Promise<void>((r) => (sawEnd = r));
    await consumer.run({
      onAssignment: () => undefined,
      onBatch: async (msgs) => {
        got.push(...msgs);
        if (msgs.some((m) => m.value?.toString().startsWith('end-'))) sawEnd();
      },
    });
    try {
      await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error(`no end record after 120 s (${got.length} delivered)`)), 120_000).unref())]);
    } finally {
      await consumer.disconnect();
    }
    const delivered = got.map((m) => m.value!.toString());
    const leaked = delivered.filter((v) => v.includes('-abort'));
    assert.equal(leaked.length, 0, `records of aborted transactions delivered: ${[...new Set(leaked.map((v) => v.split('-').slice(0, 3).join('-')))].join(', ')}`);
    assert.deepEqual(delivered, committed);
  });
});
