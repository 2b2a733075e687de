/**
 * Fault suite, Kafka: the broker under a running source and sink is killed
 * and restarted mid-stream. A private broker (its own ports and data) takes
 * the fault; the shared one on 9092 is left alone.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { readLines, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';
import { startPrivateKafka, type PrivateKafka } from './harness/private-kafka.js';

async function withAdmin<T>(bootstrap: string, fn: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
  const admin = new Kafka({ clientId: 'fault-test', brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

const topicSize = (b: string, topic: string) =>
  withAdmin(b, async (a) => ((await a.listTopics()).includes(topic) ? (await a.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0) : 0));
const committed = (b: string, group: string, topic: string) =>
  withAdmin(b, async (a) => (await a.fetchOffsets({ groupId: group, topics: [topic] })).flatMap((t) => t.partitions).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0));

function tally(lines: string[]) {
  const ids = new Set<number>();
  for (const l of lines) ids.add((JSON.parse(l) as { orderid: number }).orderid);
  return { unique: ids.size, duplicates: lines.length - ids.size, ids };
}

describe('Kafka broker restarted mid-stream', () => {
  let kafka: PrivateKafka;
  let w: WorkerHandle | undefined;
  before(async () => {
    kafka = await startPrivateKafka({ port: Number(process.env.FERRY_FAULT_KAFKA_PORT ?? 19092) });
  });
  afterEach(async () => {
    await w?.stop().catch(() => undefined);
    w = undefined;
  });
  after(async () => {
    await kafka?.destroy();
  });

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`${signal === 'SIGKILL' ? 'killed (-9)' : 'stopped cleanly'} and restarted under a source and a sink: nothing lost, duplicates bounded`, async () => {
      const total = 15000;
      await kafka.start(); // a previous test may have left it stopped
      const topic = uniqueName(`kfault-${signal.toLowerCase()}`);
      w = await startWorker({ workerConfig: { 'bootstrap.servers': kafka.bootstrap, 'value.converter.schemas.enable': 'false', 'offset.flush.interval.ms': 500 } });
      const out = join(w.dir, 'out.jsonl');
      const src = { 'connector.class': 'DatagenSource', 'kafka.topic': topic, quickstart: 'orders', iterations: String(total), 'max.interval': '1' };
      assert.equal((await w.request('POST', '/connectors', { name: `${topic}-src`, config: src })).status, 201);
      assert.equal((await w.request('POST', '/connectors', { name: `${topic}-sink`, config: { 'connector.class': 'FileStreamSink', topics: topic, file: out } })).status, 201);
      await waitFor(() => readLines(out).length > total / 10, { timeoutMs: 120_000, message: 'records flowing' });

      // What is durable right before the fault.
      const sinkCommitted = await committed(kafka.bootstrap, `connect-${topic}-sink`, topic);
      await kafka.stop(signal);
      const writtenAtFault = readLines(out).length;
      assert.ok(writtenAtFault < total, `the fault came mid-stream (${writtenAtFault} of ${total})`);
      // the worker notices and shows it, then recovers once the broker is back
      const outageStatus = await waitFor(
        async () => {
          const s = await w!.request('GET', `/connectors/${topic}-sink/status`);
          const t = s.body.tasks?.[0];
          return t && (t.message || t.state !== 'RUNNING') ? t : null;
        },
        { timeoutMs: 20_000, message: 'the outage shown in the sink status' },
      ).catch(() => null);
      await kafka.start();

      await waitFor(() => tally(readLines(out)).unique >= total, { timeoutMs: 240_000, intervalMs: 500, message: `all ${total} records in the file` });
      await waitFor(async () => (await committed(kafka.bootstrap, `connect-${topic}-sink`, topic)) === (await topicSize(kafka.bootstrap, topic)), {
        timeoutMs: 120_000,
        message: 'the sink committed the whole topic',
      });
      const lines = readLines(out);
      const t = tally(lines);
      const produced = await topicSize(kafka.bootstrap, topic);
      for (let id = 0; id < total; id++) assert.ok(t.ids.has(id), `orderid ${id} present`);
      const sourceDuplicates = produced - total;
      const sinkRedelivered = writtenAtFault - sinkCommitted;
      console.log(
        `broker ${signal}: ${writtenAtFault} written (${sinkCommitted} committed) at the fault; source re-produced ${sourceDuplicates}; ` +
          `file duplicates ${t.duplicates}; outage status: ${outageStatus ? `${outageStatus.state} ${String(outageStatus.message ?? '').slice(0, 120)}` : 'not seen'}`,
      );
      assert.ok(t.duplicates <= sourceDuplicates + sinkRedelivered, `file duplicates ${t.duplicates} <= ${sourceDuplicates} re-produced + ${sinkRedelivered} uncommitted`);
      assert.ok(t.duplicates < total / 2, 'not a full replay');
      const st = await w.request('GET', `/connectors/${topic}-sink/status`);
      assert.equal(st.body.tasks[0].state, 'RUNNING');
      await w.stop();
      w = undefined;
    });
  }
});
