/**
 * The sink's behaviour against a real server, run once per product
 * (Elasticsearch, OpenSearch) by the test files beside this one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hasErrorCode, type Logger, type SinkRecord } from '@ferry/core';
import { ElasticsearchSink, ElasticsearchSinkTask } from '@ferry/connectors/elasticsearch';
import {
  CuttableProxy,
  collectingReporter,
  consumedOffsets,
  context,
  count,
  deliver,
  dropIndex,
  getDoc,
  http,
  reachable,
  record,
  records,
  uid,
  waitFor,
} from './helpers.js';

export function sinkScenarios(
  label: string,
  url: string,
  opts: {
    product: 'elasticsearch' | 'opensearch';
    /** Forces the client (server.type), e.g. the OpenSearch client against Elasticsearch's wire-compatible API. */
    serverType?: 'elasticsearch' | 'opensearch';
  },
): void {
  const run = uid();
  const prefix = `ferry-t${run}`;
  const created: string[] = [];
  const topicName = (what: string) => {
    const t = `${prefix}-${what}`;
    created.push(t);
    return t;
  };

  async function startTask(extra: Record<string, string>, reporter?: ReturnType<typeof collectingReporter>, logger?: Logger) {
    const task = new ElasticsearchSinkTask();
    const ctx = context(reporter);
    const c = logger ? { ...ctx, logger } : ctx;
    const forced: Record<string, string> = opts.serverType ? { 'server.type': opts.serverType } : {};
    await task.start({ 'connection.url': url, 'linger.ms': '5', 'retry.backoff.ms': '50', ...forced, ...extra }, c);
    return { task, ctx };
  }

  describe(label, () => {
    before(async () => {
      const v = await reachable(url);
      assert.ok(v, `${label} is not reachable at ${url}: start it with "node scripts/stack.mjs up elasticsearch"`);
    });
    after(async () => {
      await dropIndex(url, `${prefix}-*`);
      await http(url, 'DELETE', `/_data_stream/logs-ds${run}-*`).catch(() => undefined);
      await http(url, 'DELETE', `/_index_template/ferry-ds-${run}`).catch(() => undefined);
    });

    it('writes N records as N documents, and a replay leaves N (idempotent)', async () => {
      const topic = topicName('Count');
      const batch = records(topic, 3000, { partitions: 3 });
      const { task } = await startTask({ 'key.ignore': 'true', 'batch.size': '250' });
      for (let i = 0; i < batch.length; i += 500) await deliver(task, batch.slice(i, i + 500));
      await task.flush(consumedOffsets(batch));
      assert.deepEqual(
        sortTp(await task.preCommit!(consumedOffsets(batch))),
        sortTp(consumedOffsets(batch)),
        'every record acknowledged: all consumed offsets are safe',
      );
      await task.stop();
      const index = topic.toLowerCase();
      assert.equal(await count(url, index), 3000);

      // Replay (e.g. after an offset reset or a crash before the commit) in a fresh task.
      const again = await startTask({ 'key.ignore': 'true', 'batch.size': '700' });
      await deliver(again.task, batch);
      await again.task.flush([]);
      await again.task.stop();
      assert.equal(await count(url, index), 3000);
      assert.deepEqual(await getDoc(url, index, `${topic}+1+10`), { id: 31, name: 'row 31', amount: 46.5 });
    });

    it('keys are document ids and the last write per key wins across concurrent requests', async () => {
      const topic = topicName('keys');
      const batch: SinkRecord[] = [];
      for (let i = 0; i < 2000; i++) batch.push(record(topic, 0, i, { seq: i }, `k${i % 50}`));
      const { task } = await startTask({ 'batch.size': '37', 'max.in.flight.requests': '5' });
      await deliver(task, batch);
      await task.flush([]);
      await task.stop();
      assert.equal(await count(url, topic), 50);
      for (const k of [0, 17, 49]) assert.deepEqual(await getDoc(url, topic, `k${k}`), { seq: 1950 + k });
    });

    it('upsert merges fields into the existing document', async () => {
      const topic = topicName('upsert');
      const { task } = await startTask({ 'write.method': 'upsert' });
      await deliver(task, [record(topic, 0, 0, { a: 1, b: 'x' }, 'u1'), record(topic, 0, 1, { c: true }, 'u1'), record(topic, 0, 2, { b: 'y' }, 'u1')]);
      await task.flush([]);
      await task.stop();
      assert.deepEqual(await getDoc(url, topic, 'u1'), { a: 1, b: 'y', c: true });
    });

    it('tombstones delete documents with behavior.on.null.values=delete', async () => {
      const topic = topicName('tomb');
      const { task } = await startTask({ 'behavior.on.null.values': 'delete' });
      await deliver(task, [record(topic, 0, 0, { v: 1 }, 'a'), record(topic, 0, 1, { v: 2 }, 'b'), record(topic, 0, 2, null, 'a')]);
      // Deleting a document that does not exist (e.g. a replayed tombstone) is fine.
      await deliver(task, [record(topic, 0, 3, null, 'never-written')]);
      await task.flush([]);
      assert.deepEqual(await task.preCommit!([{ topic, partition: 0, offset: 4 }]), [{ topic, partition: 0, offset: 4 }]);
      await task.stop();
      assert.equal(await count(url, topic), 1);
      assert.equal(await getDoc(url, topic, 'a'), undefined);
    });

    describe('malformed documents (a long field receiving "abc")', () => {
      async function mappedIndex(what: string): Promise<string> {
        const topic = topicName(what);
        const r = await http(url, 'PUT', `/${topic}`, { mappings: { properties: { n: { type: 'long' } } } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return topic;
      }
      const mixed = (topic: string, from = 0) => [
        ...Array.from({ length: 5 }, (_, i) => record(topic, 0, from + i, { n: i })),
        record(topic, 0, from + 5, { n: 'abc' }),
        ...Array.from({ length: 5 }, (_, i) => record(topic, 0, from + 6 + i, { n: 10 + i })),
      ];

      it('ignore: skips them and keeps going', async () => {
        const topic = await mappedIndex('mal-ignore');
        const { task } = await startTask({ 'key.ignore': 'true', 'behavior.on.malformed.documents': 'ignore' });
        await deliver(task, mixed(topic));
        await task.flush([]);
        assert.deepEqual(await task.preCommit!([{ topic, partition: 0, offset: 11 }]), [{ topic, partition: 0, offset: 11 }]);
        await deliver(task, [record(topic, 0, 11, { n: 99 })]);
        await task.flush([]);
        await task.stop();
        assert.equal(await count(url, topic), 11);
      });

      it('ignore: keeps going even when the runtime refuses the report (no error tolerance)', async () => {
        const topic = await mappedIndex('mal-ign-none');
        const refusing = { reported: [] as never[], report: async () => Promise.reject(new Error('tolerance exceeded')) };
        const { task } = await startTask({ 'key.ignore': 'true', 'behavior.on.malformed.documents': 'ignore' }, refusing as never);
        await deliver(task, mixed(topic));
        await task.flush([]);
        await task.stop();
        assert.equal(await count(url, topic), 10);
      });

      it('warn: skips them with a warning naming the record', async () => {
        const topic = await mappedIndex('mal-warn');
        const warnings: string[] = [];
        const { task } = await startTask({ 'key.ignore': 'true', 'behavior.on.malformed.documents': 'warn' }, undefined, captureWarnings(warnings));
        await deliver(task, mixed(topic));
        await task.flush([]);
        await task.stop();
        assert.equal(await count(url, topic), 10);
        assert.equal(warnings.length, 1);
        assert.match(warnings[0]!, new RegExp(`${topic}/0@5.*(document_parsing_exception|mapper_parsing_exception)`));
      });

      it('fail: the task fails naming the record, and nothing past it is committed', async () => {
        const topic = await mappedIndex('mal-fail');
        const { task } = await startTask({ 'key.ignore': 'true', 'behavior.on.malformed.documents': 'fail', 'batch.size': '3' });
        await deliver(task, mixed(topic));
        await assert.rejects(task.flush([]), (e: Error) => hasErrorCode(e, 'DATA_ERROR') && e.message.includes(`${topic}/0@5`));
        await assert.rejects(task.put([record(topic, 0, 11, { n: 1 })]), (e: Error) => hasErrorCode(e, 'DATA_ERROR'));
        await assert.rejects(task.preCommit!([{ topic, partition: 0, offset: 11 }]));
        await task.stop();
      });

      it('with a dead-letter queue: rejected records are reported and the task keeps going', async () => {
        const topic = await mappedIndex('mal-dlq');
        const dlq = collectingReporter();
        const { task } = await startTask({ 'key.ignore': 'true', 'behavior.on.malformed.documents': 'fail' }, dlq);
        await deliver(task, mixed(topic));
        // A value that cannot be a document at all goes the same way.
        await deliver(task, [record(topic, 0, 11, 'not json')]);
        await task.flush([]);
        assert.deepEqual(await task.preCommit!([{ topic, partition: 0, offset: 12 }]), [{ topic, partition: 0, offset: 12 }]);
        await task.stop();
        assert.deepEqual(dlq.reported.map((r) => r.record.kafkaOffset).sort((a, b) => a - b), [5, 11]);
        assert.ok(dlq.reported.every((r) => hasErrorCode(r.error, 'DATA_ERROR')));
        assert.equal(await count(url, topic), 10);
      });
    });

    it('recovers by itself when the server is unreachable for a while, with an exact final count', async () => {
      const topic = topicName('outage');
      const proxy = new CuttableProxy(new URL(url));
      await proxy.open();
      const { task } = await startTask({
        'connection.url': proxy.url,
        'key.ignore': 'true',
        'batch.size': '100',
        'max.retries': '2',
        'retry.backoff.ms': '50',
        'max.buffered.records': '1000',
        'read.timeout.ms': '2000',
      });
      const all = records(topic, 6000);
      let delivered = 0;
      let cutAt = -1;
      const putErrors: Error[] = [];
      const producer = (async () => {
        for (let i = 0; i < all.length; i += 200) {
          if (i === 1000) {
            await task.flush([]);
            await proxy.cut();
            cutAt = delivered;
          }
          const b = all.slice(i, i + 200);
          await deliver(task, b, 60_000, (e) => putErrors.push(e));
          delivered = i + b.length;
        }
      })();
      try {
        // The runtime sees the outage: put() asks to be retried, naming it.
        await waitFor(() => putErrors.length > 0, 20_000, 'put() to report the outage');
        assert.ok(hasErrorCode(putErrors[0], 'NOT_CONNECTED'), String(putErrors[0]));
        assert.match(putErrors[0]!.message, /unreachable/);
        // Nothing is committed past what the server acknowledged.
        const safe = (await task.preCommit!([{ topic, partition: 0, offset: delivered }]))[0]?.offset ?? 0;
        assert.ok(safe <= (await count(url, topic.toLowerCase())), 'commit point within the acknowledged documents');
        assert.ok(delivered < all.length, 'the outage held the producer back (bounded buffer)');
        assert.ok(delivered - cutAt <= 1200, `buffer bounded: ${delivered - cutAt} records taken during the outage`);
        await new Promise((r) => setTimeout(r, 2000)); // the outage lasts a little longer
        await proxy.open();
        await producer;
        await task.flush([]);
        assert.deepEqual(await task.preCommit!([{ topic, partition: 0, offset: 6000 }]), [{ topic, partition: 0, offset: 6000 }]);
      } finally {
        await proxy.close();
        await task.stop();
        await producer.catch(() => undefined);
      }
      assert.equal(await count(url, topic.toLowerCase()), 6000);
    });

    it('connector validate() accepts a reachable server and names mismatches', { skip: opts.serverType !== undefined && 'client forced by server.type' }, async () => {
      const connector = await ElasticsearchSink.create();
      assert.deepEqual(await connector.validate!({ 'connection.url': url, topics: 'x' }), {});
      const other = opts.product === 'elasticsearch' ? 'opensearch' : 'elasticsearch';
      const errs = await connector.validate!({ 'connection.url': url, topics: 'x', 'server.type': other });
      assert.ok(errs['server.type']?.[0]?.includes(opts.product), JSON.stringify(errs));
    });

    it('data streams: @timestamp added, replays are no-ops, missing templates reported by validate()', { skip: opts.serverType !== undefined && 'client forced by server.type' }, async (t) => {
      // A data stream can only be removed through the data stream API, which minimal distributions
      // (Elastic's integ-test zip) lack: there the test would leave data streams behind.
      const probe = await http(url, 'GET', '/_data_stream');
      if (probe.status !== 200) {
        t.skip(`${opts.product} at ${url} has no data stream API (a distribution without the data streams module) (GET /_data_stream answered ${probe.status}), so test data streams could not be removed`);
        return;
      }
      const dataset = `ds${run}`;
      const connector = await ElasticsearchSink.create();
      const dsCfg = { 'connection.url': url, 'data.stream.type': 'logs', 'data.stream.dataset': dataset };
      const errs = await connector.validate!({ ...dsCfg, topics: 'events' });
      assert.ok(errs['data.stream.type']?.length, `no template yet: ${JSON.stringify(errs)}`);
      const tpl = await http(url, "PUT", `/_index_template/ferry-ds-${run}`, {
        index_patterns: [`logs-${dataset}-*`],
        data_stream: {},
        priority: 500,
        template: { mappings: { properties: { '@timestamp': { type: 'date' } } } },
      });
      assert.equal(tpl.status, 200, JSON.stringify(tpl.body));
      assert.deepEqual(await connector.validate!({ ...dsCfg, topics: 'events' }), {});

      const topic = 'events';
      const batch = Array.from({ length: 300 }, (_, i) => record(topic, 0, i, { msg: `m${i}`, at: new Date(1_700_000_000_000 + i * 1000).toISOString() }));
      const { task } = await startTask({ ...dsCfg, 'data.stream.timestamp.field': 'at' });
      await deliver(task, batch);
      await task.flush([]);
      await deliver(task, batch.slice(0, 100)); // a redelivery to the same task: already accepted, skipped
      await task.stop();
      const replay = await startTask({ ...dsCfg, 'data.stream.timestamp.field': 'at' });
      await deliver(replay.task, batch.slice(0, 150));
      await replay.task.flush([]);
      await replay.task.stop();
      const ds = `logs-${dataset}-events`;
      assert.equal(await count(url, ds), 300);
      const r = await http<{ data_streams: Array<{ name: string }> }>(url, 'GET', `/_data_stream/${ds}`);
      assert.equal(r.body.data_streams?.[0]?.name, ds);
      const hit = await http<{ hits: { hits: Array<{ _source: Record<string, unknown> }> } }>(url, 'POST', `/${ds}/_search`, {
        query: { term: { _id: 'events+0+7' } },
      });
      assert.equal(hit.body.hits.hits[0]?._source['@timestamp'], new Date(1_700_000_007_000).toISOString());
    });
  });
}

function sortTp<T extends { topic: string; partition: number }>(xs: T[]): T[] {
  return [...xs].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

function captureWarnings(into: string[]): Logger {
  const noop = () => {};
  const logger: Logger = {
    trace: noop,
    debug: noop,
    info: noop,
    error: noop,
    warn: (a: unknown, b?: string) => void into.push(typeof a === 'string' ? a : (b ?? '')),
    child: () => logger,
  };
  return logger;
}
