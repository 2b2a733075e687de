/**
 * Chunk markers are read with KIP-447's require_stable, on the real broker
 * (127.0.0.1:9092): while another producer's transaction holds a pending
 * offset commit for the marker's group, the read waits for the transaction's
 * outcome and returns it, never the older committed value. An ordinary
 * offset fetch answers the older value at once (the rare duplicate page of a
 * chunk resumed right after its previous attempt was fenced).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { Backbone } from '../../src/backbone/backbone.js';
import { KafkaBackbone } from '../../src/backbone/kafka-backbone.js';
import { PlatformaticBackbone } from '../../src/backbone/platformatic-backbone.js';
import { LogManager } from '../../src/logging.js';

const BROKER = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';
const logger = new LogManager({ level: process.env.TEST_LOG_LEVEL ?? 'ERROR' }).get('test');
const conn = { brokers: [BROKER] };
const kafka = new Kafka({ clientId: 'stable-marker-test', brokers: [BROKER], logLevel: logLevel.NOTHING });

const impls: Array<{ name: string; make(): Backbone }> = [
  { name: 'platformatic', make: () => new PlatformaticBackbone({ connections: { admin: conn, producer: conn, consumer: conn }, clientId: 'stable-marker', logger }) },
  { name: 'kafkajs', make: () => new KafkaBackbone({ connections: { admin: conn, producer: conn, consumer: conn }, clientId: 'stable-marker', logger }) },
];

/** Another producer's transaction holding an offset commit of `groupId` on `topic` (left open). */
async function openTxnWithOffset(groupId: string, topic: string, offset: number, metadata: string) {
  const p = kafka.producer({ transactionalId: `stable-marker-other-${randomUUID()}`, idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  const txn = await p.transaction();
  await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset: String(offset), metadata } as never] }] });
  return { txn, close: () => p.disconnect() };
}

for (const impl of impls) {
  describe(`chunk markers are stable reads (${impl.name})`, () => {
    const bb = impl.make();
    after(() => bb.close());

    async function setup() {
      const topic = `stable-marker-${randomUUID()}`;
      const groupId = `stable-marker-group-${randomUUID()}`;
      await bb.admin().ensureTopics([{ topic, numPartitions: 1 }]);
      const tp = bb.transactional!({ transactionalId: `stable-marker-${randomUUID()}` });
      await tp.connect();
      await tp.commit([], { groupId, topic, offset: 1, metadata: 'one' });
      assert.deepEqual(await tp.readMarker(groupId, topic), { offset: 1, metadata: 'one' });
      return { topic, groupId, tp };
    }

    it('waits for a pending transactional commit and returns the committed value', async () => {
      const { topic, groupId, tp } = await setup();
      const other = await openTxnWithOffset(groupId, topic, 2, 'two');
      try {
        let pending = 0;
        let committing: Promise<void> | undefined;
        const got = await tp.readMarker(groupId, topic, {
          // The transaction ends only once the read was told it is pending: an unstable read returns 1 first.
          onPending: () => {
            pending++;
            committing ??= other.txn.commit();
          },
        });
        await committing;
        assert.deepEqual(got, { offset: 2, metadata: 'two' }, 'the committed value, not the one before the open transaction');
        assert.ok(pending > 0, 'the broker reported the pending commit');
      } finally {
        await other.close();
        await tp.disconnect();
      }
    });

    it('returns the older value when the pending transaction aborts', async () => {
      const { topic, groupId, tp } = await setup();
      const other = await openTxnWithOffset(groupId, topic, 2, 'two');
      try {
        let aborting: Promise<void> | undefined;
        const got = await tp.readMarker(groupId, topic, { onPending: () => void (aborting ??= other.txn.abort()) });
        await aborting;
        assert.ok(aborting, 'the broker reported the pending commit');
        assert.deepEqual(got, { offset: 1, metadata: 'one' });
      } finally {
        await other.close();
        await tp.disconnect();
      }
    });

    it('reads no marker as null', async () => {
      const tp = bb.transactional!({ transactionalId: `stable-marker-${randomUUID()}` });
      await tp.connect();
      try {
        assert.equal(await tp.readMarker(`stable-marker-none-${randomUUID()}`, `stable-marker-${randomUUID()}`), null);
      } finally {
        await tp.disconnect();
      }
    });
  });
}
