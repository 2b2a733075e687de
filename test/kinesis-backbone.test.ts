/**
 * The Kinesis backbone (backbone=kinesis) end to end, with no Kafka at all
 * (bootstrap.servers points nowhere): PostgreSQL CDC -> Kinesis ->
 * PostgresSink with a kill -9 mid-stream; a split and a merge of the
 * backbone stream under a reading sink; two workers sharing the shards of
 * one stream, one of them killed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListShardsCommand, MergeShardsCommand, PutRecordsCommand, SplitShardCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { silentLogger } from '@ferry/core';
import { Redis } from 'ioredis';
import pg from 'pg';
import { RecordGen, checkPerKey, countsOf, deleteStream, kinesis, listShards, putTestRecords, readStream, waitActive, type TestRecord } from '../packages/connectors/test/kinesis/helpers.js';
import { decodeEnvelope } from '../packages/worker/src/backbone/kinesis/envelope.js';
import { KinesisBackbone } from '../packages/worker/src/backbone/kinesis/kinesis-backbone.js';
import { RedisShardLeaseStore } from '../packages/worker/src/stores/redis-shard-lease-store.js';
import { killAllWorkers, readLines, requireStack, startWorker, uniqueName, waitFor, type WorkerHandle } from './harness/index.js';

const PG_URL = process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ENDPOINT = process.env.KINESIS_ENDPOINT ?? 'http://127.0.0.1:4568';
const REDIS_URL = process.env.FERRY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function kinesisWorker(prefix: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    backbone: 'kinesis',
    // Nothing listens here: the pipeline must not need Kafka.
    'bootstrap.servers': '127.0.0.1:1',
    'kinesis.endpoint': ENDPOINT,
    'kinesis.region': 'us-east-1',
    'kinesis.access.key.id': 'test',
    'kinesis.secret.access.key': 'test',
    'kinesis.stream.prefix': prefix,
    'kinesis.stream.shards': 2,
    'kinesis.coordination.redis.url': REDIS_URL,
    'kinesis.lease.duration.ms': 4000,
    'kinesis.shard.sync.interval.ms': 500,
    'kinesis.poll.interval.ms': 100,
    'offset.flush.interval.ms': 500,
    ...extra,
  };
}

let db: pg.Client;
let client: KinesisClient;
let redis: Redis;
const cleanup: string[] = [];
const streams: string[] = [];
/** Stream prefixes of this run: their groups' lease keys are removed afterwards. */
const prefixes: string[] = [];

async function count(sql: string): Promise<number> {
  return Number((await db.query(sql)).rows[0].n);
}

async function difference(a: string, b: string, cols: string): Promise<number> {
  return count(
    `SELECT (SELECT count(*) FROM (SELECT ${cols} FROM ${a} EXCEPT ALL SELECT ${cols} FROM ${b}) x) +
            (SELECT count(*) FROM (SELECT ${cols} FROM ${b} EXCEPT ALL SELECT ${cols} FROM ${a}) y) AS n`,
  ).catch(() => -1);
}

/** Shard -> owning member of a group's leases (live ones only). */
async function owners(group: string): Promise<Map<string, string>> {
  const [sec, micro] = await redis.time();
  const now = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
  const all = await redis.hgetall(`ferry:kinesis:{${group}}:leases`);
  const out = new Map<string, string>();
  for (const [f, v] of Object.entries(all)) {
    const l = JSON.parse(v) as { owner: string; exp: number };
    if (l.owner && l.exp > now) out.set(f, l.owner);
  }
  return out;
}

const fileSink = (name: string, topic: string, file: string) => ({
  name,
  config: {
    'connector.class': 'FileStreamSink',
    topics: topic,
    file,
    'key.converter': 'StringConverter',
    'value.converter': 'StringConverter',
  },
});

describe('Kinesis backbone', () => {
  before(async () => {
    await requireStack('kinesis', 'postgres', 'redis');
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    client = kinesis();
    redis = new Redis(REDIS_URL);
  });
  after(async () => {
    await killAllWorkers();
    for (const sql of cleanup.reverse()) await db.query(sql).catch(() => {});
    await db.end();
    for (const s of streams) await deleteStream(client, s);
    for (const p of prefixes) {
      const keys = await redis.keys(`ferry:kinesis:{connect-${p}*`);
      if (keys.length) await redis.del(...keys);
    }
    client.destroy();
    redis.disconnect();
  });

  it('PostgreSQL CDC -> Kinesis -> PostgresSink: an identical replica, through a kill -9 mid-stream', async () => {
    const tag = uniqueName('kbb').replace(/-/g, '_');
    const src = `${tag}_src`;
    const dst = `${tag}_dst`;
    const slot = `${tag}_slot`;
    const pub = `${tag}_pub`;
    const prefix = `${tag}-`;
    prefixes.push(tag);
    const topic = `${tag}.public.${src}`;
    streams.push(prefix + topic);
    cleanup.push(`DROP TABLE IF EXISTS ${src}`, `DROP TABLE IF EXISTS ${dst}`, `DROP PUBLICATION IF EXISTS ${pub}`);
    cleanup.push(`SELECT pg_drop_replication_slot('${slot}') FROM pg_replication_slots WHERE slot_name = '${slot}' AND NOT active`);
    await db.query(`CREATE TABLE ${src} (id int PRIMARY KEY, v text, amount numeric(12,2), at timestamptz, doc jsonb)`);
    await db.query(
      `INSERT INTO ${src} SELECT g, 'v' || g, g / 100.0, '2024-01-01'::timestamptz + g * interval '1 ms', jsonb_build_object('g', g) FROM generate_series(1, 2000) g`,
    );
    const cols = 'id, v, amount, at, doc';
    const connectors = [
      {
        name: `${tag}-cdc`,
        config: {
          'connector.class': 'PostgresCdcSource', 'connection.url': PG_URL, 'topic.prefix': tag, 'slot.name': slot, 'publication.name': pub,
          'publication.autocreate.mode': 'filtered', 'table.include.list': src, 'snapshot.fetch.size': '500', 'heartbeat.interval.ms': '1000',
        },
      },
      {
        name: `${tag}-sink`,
        config: {
          'connector.class': 'PostgresSink', 'connection.url': PG_URL, topics: topic, 'table.name.format': dst,
          'insert.mode': 'upsert', 'pk.mode': 'record_key', 'delete.enabled': 'true', 'auto.create': 'true',
        },
      },
    ];
    const workerConfig = kinesisWorker(prefix);
    let w: WorkerHandle = await startWorker({ workerConfig, connectors });
    try {
      await waitFor(async () => (await difference(src, dst, cols)) === 0, { timeoutMs: 120000, message: 'snapshot replicated' });
      // streaming: a transaction of 2000 updates, killed while it flows
      await db.query(`UPDATE ${src} SET amount = amount + 1, doc = doc || '{"u": 1}'`);
      await waitFor(async () => (await count(`SELECT count(*) AS n FROM ${dst} WHERE doc ? 'u'`).catch(() => 0)) > 100, { timeoutMs: 60000, intervalMs: 25, message: 'streamed updates arriving' });
      await w.kill();
      const atKill = await count(`SELECT count(*) AS n FROM ${dst} WHERE doc ? 'u'`);
      console.log(`killed during streaming with ${atKill} of 2000 updates applied`);
      assert.ok(atKill < 2000, `killed mid-stream (${atKill} of 2000 applied)`);
      await db.query(`DELETE FROM ${src} WHERE id BETWEEN 100 AND 199`);
      await db.query(`INSERT INTO ${src} VALUES (70000, 'while down', 7, '2024-02-02T00:00:00Z', '{"late": true}')`);
      w = await startWorker({ dir: w.dir, workerConfig });
      await waitFor(async () => (await difference(src, dst, cols)) === 0, { timeoutMs: 120000, message: 'replica identical after the crash' });
      assert.equal(await count(`SELECT count(*) AS n FROM ${dst}`), await count(`SELECT count(*) AS n FROM ${src}`));
      // The REST answers keep Kafka Connect's shape: shard number as partition, record ordinal as offset.
      const offsets = await w.request('GET', `/connectors/${tag}-sink/offsets`);
      assert.equal(offsets.status, 200);
      assert.ok(offsets.body.offsets.length >= 1, JSON.stringify(offsets.body));
      for (const o of offsets.body.offsets) {
        assert.equal(o.partition.kafka_topic, topic);
        assert.equal(typeof o.partition.kafka_partition, 'number');
        assert.equal(typeof o.offset.kafka_offset, 'number');
      }
      // Offsets can be reset (the group reads the shards again from the start), not set to an ordinal.
      assert.equal((await w.request('PUT', `/connectors/${tag}-sink/stop`)).status, 204);
      const first = offsets.body.offsets[0].partition;
      const set = await w.request('PATCH', `/connectors/${tag}-sink/offsets`, { offsets: [{ partition: first, offset: { kafka_offset: 1 } }] });
      assert.equal(set.status, 400, JSON.stringify(set.body));
      assert.match(set.body.message, /only reset/);
      const reset = await w.request('DELETE', `/connectors/${tag}-sink/offsets`);
      assert.equal(reset.status, 200, JSON.stringify(reset.body));
      assert.deepEqual((await w.request('GET', `/connectors/${tag}-sink/offsets`)).body.offsets, []);
      await w.request('DELETE', `/connectors/${tag}-cdc`);
    } finally {
      await w.stop();
    }
  });

  it('a split and a merge of the backbone stream while a sink reads it: every record once, in order per key', async () => {
    const tag = uniqueName('kbbrs');
    const prefix = `${tag}-`;
    prefixes.push(tag);
    const topic = 'events';
    const stream = prefix + topic;
    streams.push(stream);
    // Small GetRecords batches: a parent's backlog takes several calls, so reading its children early would interleave keys.
    const w = await startWorker({ workerConfig: kinesisWorker(prefix, { 'kinesis.max.records': 25 }) });
    const file = join(w.dir, 'out.jsonl');
    const gen = new RecordGen();
    const sent: TestRecord[] = [];
    const send = async (n: number) => {
      const recs = gen.make(n, 20);
      await putTestRecords(client, stream, recs);
      sent.push(...recs);
    };
    const delivered = () => readLines(file).map((l) => JSON.parse(l) as TestRecord);
    try {
      // The sink creates the stream (2 shards) when it subscribes.
      const r = await w.request('POST', '/connectors', fileSink(`${tag}-sink`, topic, file));
      assert.equal(r.status, 201, JSON.stringify(r.body));
      await w.waitForRunning(`${tag}-sink`);
      await waitActive(client, stream);
      await send(200);
      await waitFor(() => delivered().length >= 100, { timeoutMs: 60000, message: 'first records delivered' });
      // Paused, the sink falls behind: when it resumes, parent, children and merged shard all hold unread records of the same keys.
      assert.equal((await w.request('PUT', `/connectors/${tag}-sink/pause`)).status, 202);
      await send(200);
      const open = (await listShards(client, stream)).filter((s) => !s.SequenceNumberRange?.EndingSequenceNumber);
      const s0 = open[0]!;
      const mid = ((BigInt(s0.HashKeyRange!.StartingHashKey!) + BigInt(s0.HashKeyRange!.EndingHashKey!)) / 2n).toString();
      await client.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: s0.ShardId!, NewStartingHashKey: mid }));
      await waitActive(client, stream);
      await send(300);
      // merge the two children of the split back into one
      const children = (await listShards(client, stream)).filter((s) => s.ParentShardId === s0.ShardId && !s.SequenceNumberRange?.EndingSequenceNumber);
      assert.equal(children.length, 2, 'the split made two children');
      children.sort((a, b) => (BigInt(a.HashKeyRange!.StartingHashKey!) < BigInt(b.HashKeyRange!.StartingHashKey!) ? -1 : 1));
      await client.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: children[0]!.ShardId!, AdjacentShardToMerge: children[1]!.ShardId! }));
      await waitActive(client, stream);
      await send(300);
      assert.ok(delivered().length < 400, `the paused sink is behind (${delivered().length} delivered)`);
      assert.equal((await w.request('PUT', `/connectors/${tag}-sink/resume`)).status, 202);

      await waitFor(() => delivered().length >= sent.length, { timeoutMs: 120000, message: `all ${sent.length} records delivered` });
      const dups = checkPerKey(delivered(), countsOf(sent));
      assert.equal(dups, 0);
      assert.equal(delivered().length, sent.length);
      const shards = await listShards(client, stream);
      assert.equal(shards.length, 5, 'two original shards, two split children, one merged shard');
    } finally {
      await w.stop();
    }
  });

  it('two workers share the shards of one stream (the first hands two over when the second joins); kill one and its leases move', async () => {
    const tag = uniqueName('kbbgrp');
    const prefix = `${tag}-`;
    prefixes.push(tag);
    const topic = 'shared';
    const stream = prefix + topic;
    streams.push(stream);
    const name = `${tag}-sink`;
    const group = `connect-${name}`;
    const cfg = (id: string) => kinesisWorker(prefix, { 'client.id': id, 'kinesis.stream.shards': 4 });
    const w1 = await startWorker({ workerConfig: cfg('w1') });
    const files = [join(w1.dir, 'out.jsonl'), ''];
    let w2: WorkerHandle | undefined;
    try {
      const held = (o: Map<string, string>, prefixId: string) => [...o.values()].filter((m) => m.startsWith(`${prefixId}-`)).length;
      const r1 = await w1.request('POST', '/connectors', fileSink(name, topic, files[0]!));
      assert.equal(r1.status, 201, JSON.stringify(r1.body));
      await waitFor(async () => held(await owners(group), 'w1') === 4, { timeoutMs: 60000, message: 'w1 alone holds the four shards' });
      // a second worker joins the group: w1 hands two shards over
      w2 = await startWorker({ workerConfig: cfg('w2') });
      files[1] = join(w2.dir, 'out.jsonl');
      const r2 = await w2.request('POST', '/connectors', fileSink(name, topic, files[1]));
      assert.equal(r2.status, 201, JSON.stringify(r2.body));
      await waitFor(async () => {
        const o = await owners(group);
        return o.size === 4 && held(o, 'w1') === 2 && held(o, 'w2') === 2;
      }, { timeoutMs: 60000, message: 'four shards split two and two' });

      const gen = new RecordGen();
      const first = gen.make(200, 16);
      await putTestRecords(client, stream, first);
      const all = () => files.flatMap((f) => readLines(f)).map((l) => JSON.parse(l) as TestRecord);
      await waitFor(() => all().length >= first.length, { timeoutMs: 60000, message: 'records delivered by both workers' });
      assert.ok(readLines(files[0]!).length > 0 && readLines(files[1]!).length > 0, 'both workers delivered records');

      await w2.kill();
      const killedAt = Date.now();
      await waitFor(async () => {
        const o = await owners(group);
        return o.size === 4 && held(o, 'w1') === 4;
      }, { timeoutMs: 60000, message: 'w1 holds all four shards' });
      console.log(`leases moved ${Date.now() - killedAt} ms after the kill (lease duration 4000 ms)`);
      const second = gen.make(200, 16);
      await putTestRecords(client, stream, second);
      const expected = countsOf([...first, ...second]);
      // at-least-once: w2's uncheckpointed records may come again from w1; per key, nothing lost, order kept per worker
      await waitFor(() => {
        const max = new Map<string, number>();
        for (const r of all()) max.set(r.key, Math.max(max.get(r.key) ?? -1, r.n));
        return [...expected].every(([k, c]) => max.get(k) === c - 1);
      }, { timeoutMs: 90000, message: 'every record delivered after the move' });
      // w1 reads each key's shard in order after the move: the second batch arrives in order per key
      const secondStart = new Map<string, number>();
      for (const r of second) if (!secondStart.has(r.key)) secondStart.set(r.key, r.n);
      const last = new Map<string, number>();
      for (const r of readLines(files[0]!).map((l) => JSON.parse(l) as TestRecord)) {
        if (r.n < secondStart.get(r.key)!) continue;
        assert.ok(r.n > (last.get(r.key) ?? -1), `order per key kept for ${r.key}: #${r.n} after #${last.get(r.key)}`);
        last.set(r.key, r.n);
      }
    } finally {
      await w1.stop();
      await w2?.kill();
    }
  });

  it('the same error handling: a record the converter rejects goes to a DLQ stream, its error headers and timestamp in the envelope', async () => {
    const tag = uniqueName('kbbdlq');
    const prefix = `${tag}-`;
    prefixes.push(tag);
    streams.push(`${prefix}in`, `${prefix}dlq`);
    const w = await startWorker({ workerConfig: kinesisWorker(prefix) });
    const file = join(w.dir, 'out.jsonl');
    try {
      const r = await w.request('POST', '/connectors', {
        name: `${tag}-sink`,
        config: {
          'connector.class': 'FileStreamSink', topics: 'in', file,
          'value.converter': 'JsonConverter', 'value.converter.schemas.enable': 'false',
          'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': 'dlq', 'errors.deadletterqueue.context.headers.enable': 'true',
          transforms: 'tag', 'transforms.tag.type': 'org.apache.kafka.connect.transforms.InsertField$Value', 'transforms.tag.static.field': 'via', 'transforms.tag.static.value': 'kinesis',
        },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      await w.waitForRunning(`${tag}-sink`);
      await waitActive(client, `${prefix}in`);
      const at = Date.now();
      await client.send(new PutRecordsCommand({
        StreamName: `${prefix}in`,
        Records: [
          { PartitionKey: 'a', Data: Buffer.from('{"n":1}') },
          { PartitionKey: 'b', Data: Buffer.from('not json {') },
          { PartitionKey: 'a', Data: Buffer.from('{"n":2}') },
        ],
      }));
      await waitFor(() => readLines(file).length >= 2, { timeoutMs: 60000, message: 'good records delivered' });
      assert.deepEqual(readLines(file).map((l) => JSON.parse(l)), [{ n: 1, via: 'kinesis' }, { n: 2, via: 'kinesis' }]);
      const dlq = await waitFor(async () => {
        const recs = [...(await readStream(client, `${prefix}dlq`).catch(() => new Map())).values()].flat();
        return recs.length ? recs : null;
      }, { timeoutMs: 60000, message: 'DLQ record' });
      assert.equal(dlq.length, 1);
      const d = decodeEnvelope(Buffer.from(dlq[0]!.Data!), 0);
      assert.equal(d.enveloped, true, 'the DLQ record carries the envelope');
      assert.equal(d.value?.toString(), 'not json {');
      const headers = Object.fromEntries(d.headers.map((h) => [h.key, h.value?.toString()]));
      assert.equal(headers['__connect.errors.topic'], 'in', JSON.stringify(headers));
      assert.equal(headers['__connect.errors.stage'], 'VALUE_CONVERTER');
      assert.ok(Math.abs(d.timestamp - at) < 60000, `timestamp kept (${d.timestamp} vs ${at})`);
      const st = await w.request('GET', `/connectors/${tag}-sink/status`);
      assert.equal(st.body.tasks[0].state, 'RUNNING');
    } finally {
      await w.stop();
    }
  });

  it('a shard listing slower than the lease: the consumer keeps its lease (same generation) and keeps checkpointing', async () => {
    const tag = uniqueName('klease').toLowerCase();
    const prefix = `${tag}-`;
    const topic = 'in';
    const stream = prefix + topic;
    const group = `${tag}-g`;
    const field = `${stream}/shardId-000000000000`;
    streams.push(stream);
    const LEASE_MS = 2000;
    const LIST_DELAY_MS = 3000; // every ListShards (shard discovery) takes 1.5 leases
    const bb = new KinesisBackbone({
      client: { region: 'us-east-1', endpoint: ENDPOINT, accessKeyId: 'test', secretAccessKey: 'test' },
      logger: silentLogger,
      streamPrefix: prefix,
      streamShards: 1,
      redisUrl: REDIS_URL,
      leaseDurationMs: LEASE_MS,
      pollIntervalMs: 100,
      maxRecords: 100,
      shardSyncIntervalMs: 300,
    });
    const send = bb.client.send.bind(bb.client) as (cmd: unknown, ...rest: unknown[]) => Promise<unknown>;
    let slowLists = 0;
    (bb.client as unknown as { send: typeof send }).send = async (cmd, ...rest) => {
      if (cmd instanceof ListShardsCommand) {
        slowLists++;
        await new Promise((r) => setTimeout(r, LIST_DELAY_MS));
      }
      return send(cmd, ...rest);
    };
    const consumer = bb.consumer({ groupId: group, clientId: 'slow-list' });
    const assignments: number[] = [];
    let delivered = 0;
    const refused: string[] = [];
    const gen = async () => (JSON.parse((await redis.hget(`ferry:kinesis:{${group}}:leases`, field)) ?? '{"gen":0}') as { gen: number }).gen;
    const ckptOrd = async () => (JSON.parse((await redis.hget(`ferry:kinesis:{${group}}:ckpt`, field)) ?? '{"ord":0}') as { ord: number }).ord;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({
        onAssignment: (tps) => void assignments.push(tps.length),
        onBatch: async (msgs, tp) => {
          delivered += msgs.length;
          await consumer.commit([{ topic: tp.topic, partition: tp.partition, offset: msgs[msgs.length - 1]!.offset + 1 }]).catch((err: Error) => void refused.push(err.message));
        },
      });
      const gen0 = await waitFor(async () => (await gen()) || undefined, { timeoutMs: 60000, intervalMs: 100, message: 'the consumer takes the lease' });
      // Five lease durations of traffic, each ListShards of the discovery rounds outlasting the lease.
      let put = 0;
      const until = Date.now() + 5 * LEASE_MS;
      while (Date.now() < until) {
        await client.send(new PutRecordsCommand({ StreamName: stream, Records: Array.from({ length: 5 }, (_, i) => ({ PartitionKey: `k${put + i}`, Data: Buffer.from(`v${put + i}`) })) }));
        put += 5;
        await new Promise((r) => setTimeout(r, 250));
      }
      await waitFor(async () => (await ckptOrd()) >= put || undefined, { timeoutMs: 30000, intervalMs: 100, message: `checkpoint reaches ${put}` });
      assert.ok(slowLists >= 3, `shard discovery ran ${slowLists} slow ListShards`);
      assert.equal(await gen(), gen0, 'the lease was never lost and re-taken (generation unchanged)');
      assert.deepEqual(refused, [], 'no checkpoint refused');
      assert.deepEqual(assignments, [1], 'the shard was assigned once and never dropped');
      assert.equal(delivered, put, 'every record delivered once');
    } finally {
      await consumer.disconnect();
      await bb.leases.deleteGroup(group).catch(() => undefined);
      await bb.close();
    }
  });

  it('renewals failing (Redis unreachable): the consumer stops treating the shard as its own once the lease has run out', async () => {
    const tag = uniqueName('kleasefail').toLowerCase();
    const prefix = `${tag}-`;
    const topic = 'in';
    const stream = prefix + topic;
    const group = `${tag}-g`;
    const field = `${stream}/shardId-000000000000`;
    streams.push(stream);
    const LEASE_MS = 2000;
    const bb = new KinesisBackbone({
      client: { region: 'us-east-1', endpoint: ENDPOINT, accessKeyId: 'test', secretAccessKey: 'test' },
      logger: silentLogger,
      streamPrefix: prefix,
      streamShards: 1,
      redisUrl: REDIS_URL,
      leaseDurationMs: LEASE_MS,
      pollIntervalMs: 100,
      maxRecords: 100,
      shardSyncIntervalMs: 300,
    });
    // Every lease call but the reads the test makes itself fails while `down` is set, as with Redis gone.
    let down = false;
    const store = bb.leases as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    for (const m of ['renew', 'heartbeat', 'acquire', 'checkpoint', 'leases', 'checkpoints', 'release', 'requestHandoff']) {
      const orig = store[m]!.bind(bb.leases);
      store[m] = (...a: unknown[]) => (down ? Promise.reject(new Error('Redis unreachable (test)')) : orig(...a));
    }
    const consumer = bb.consumer({ groupId: group, clientId: 'no-redis' });
    const assignments: Array<{ at: number; n: number }> = [];
    let deliveredWhileDown = 0;
    let droppedAt = 0;
    let markerAt = 0;
    const lease = async () => JSON.parse((await redis.hget(`ferry:kinesis:{${group}}:leases`, field)) ?? 'null') as { gen: number; exp: number } | null;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({
        onAssignment: (tps) => {
          assignments.push({ at: Date.now(), n: tps.length });
          if (down && tps.length === 0 && !droppedAt) droppedAt = Date.now();
        },
        onBatch: async (msgs) => {
          if (down && droppedAt) deliveredWhileDown += msgs.length;
          if (msgs.some((m) => m.value?.toString() === 'marker')) markerAt ||= Date.now();
        },
      });
      const held = await waitFor(lease, { timeoutMs: 60000, intervalMs: 100, message: 'the consumer takes the lease' });
      await waitFor(() => assignments.some((a) => a.n === 1), { timeoutMs: 10000, message: 'the shard is assigned' });
      down = true;
      const downAt = Date.now();
      await waitFor(() => droppedAt, { timeoutMs: 4 * LEASE_MS, intervalMs: 50, message: 'the shard is dropped once its lease has run out' });
      // The last renewal that went through was at most a third of a lease before `down`.
      assert.ok(droppedAt - downAt >= LEASE_MS - LEASE_MS / 3 - 100, `not dropped before the lease could have run out (${droppedAt - downAt} ms)`);
      const now = Number((await redis.time())[0]) * 1000;
      const l = await lease();
      assert.equal(l?.gen, held.gen);
      assert.ok(l!.exp <= now + 1000, 'nothing extended the lease after renewals started failing');
      // A record put now is not delivered while renewals fail: the shard is no longer read.
      await client.send(new PutRecordsCommand({ StreamName: stream, Records: [{ PartitionKey: 'k', Data: Buffer.from('marker') }] }));
      await waitFor(async () => [...(await readStream(client, stream)).values()].flat().some((r) => Buffer.from(r.Data!).toString() === 'marker'), {
        timeoutMs: 10000,
        message: 'the record is readable in the stream',
      });
      down = false;
      const backAt = Date.now();
      // Back: the shard is taken again, under a new generation, and the record read then.
      await waitFor(async () => ((await lease())?.gen ?? 0) > held.gen, { timeoutMs: 30000, intervalMs: 100, message: 'the lease is taken again' });
      await waitFor(() => markerAt, { timeoutMs: 30000, message: 'the record is delivered after the lease is taken again' });
      assert.ok(markerAt >= backAt, 'the record was not delivered while renewals failed');
      assert.equal(deliveredWhileDown, 0, 'nothing delivered from the dropped shard while renewals failed');
    } finally {
      down = false;
      await consumer.disconnect();
      await bb.leases.deleteGroup(group).catch(() => undefined);
      await bb.close();
    }
  });

  it('lease fencing: a worker that lost its lease can neither renew it nor move its checkpoint', async () => {
    const group = uniqueName('fence');
    const store = new RedisShardLeaseStore(REDIS_URL);
    try {
      // 2 s: long enough that B's first try and A's checkpoint land inside A's lease on a loaded machine.
      const a = await store.acquire(group, 's/shardId-000000000000', 'A', 2000);
      assert.ok(a);
      assert.equal(await store.acquire(group, 's/shardId-000000000000', 'B', 300), null, 'a live lease is not taken');
      assert.equal(await store.checkpoint(group, 's/shardId-000000000000', 'A', a.gen, { seq: '100', ord: 1 }), true);
      // A stalls; its lease expires and B takes it
      const b = await waitFor(() => store.acquire(group, 's/shardId-000000000000', 'B', 60000), { timeoutMs: 30000, intervalMs: 50, message: 'B takes the expired lease' });
      assert.equal(b.gen, a.gen + 1);
      assert.deepEqual(b.checkpoint, { seq: '100', ord: 1 }, 'B starts from A\'s last checkpoint');
      assert.equal(await store.checkpoint(group, 's/shardId-000000000000', 'A', a.gen, { seq: '200', ord: 2 }), false, 'the zombie is fenced off');
      assert.equal(await store.renew(group, 's/shardId-000000000000', 'A', a.gen, 300), null, 'the zombie cannot renew');
      await store.release(group, 's/shardId-000000000000', 'A', a.gen);
      assert.equal(await store.checkpoint(group, 's/shardId-000000000000', 'B', b.gen, { seq: '300', ord: 3 }), true, 'the zombie cannot release it either');
      assert.deepEqual((await store.checkpoints(group)).get('s/shardId-000000000000'), { seq: '300', ord: 3 });
    } finally {
      await store.deleteGroup(group);
      await store.close();
    }
  });
});
