/**
 * One contract, every backbone implementation, the real broker
 * (127.0.0.1:9092, `npm run stack -- up kafka`): round trips, Java-compatible
 * key partitioning, idempotent concurrent sends, group semantics (regex
 * subscriptions, revocation, joins, static membership, sharing a group with
 * the Java consumer). What kafkajs cannot do is refused, and checked as such.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { TopicPartition } from '@ferry/core';
import type { Backbone, BackboneConsumer, InMessage } from '../src/backbone/backbone.js';
import { KafkaBackbone } from '../src/backbone/kafka-backbone.js';
import { PlatformaticBackbone } from '../src/backbone/platformatic-backbone.js';
import { createBackbone, UnsupportedBackboneOptionError } from '../src/backbone/create-backbone.js';
import { keyPartition, murmur2 } from '../src/backbone/partitioning.js';
import { loadWorkerConfig } from '../src/config/worker-config.js';
import { LogManager } from '../src/logging.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const BROKER = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';
const logs = new LogManager({ level: process.env.TEST_LOG_LEVEL ?? 'ERROR' });
const logger = logs.get('test');
const conn = { brokers: [BROKER] };

type Strategy = 'range' | 'cooperative-sticky';
interface Impl {
  name: string;
  make(o?: { strategy?: Strategy; heartbeatMs?: number; sessionMs?: number; metadataMaxAgeMs?: number }): Backbone;
  /** What the implementation cannot do (checked as refused). */
  lacks: Set<'regex-new-topics' | 'static-membership' | 'cooperative' | 'revoke-before-reassign' | 'java-assignors'>;
}

const impls: Impl[] = [
  {
    name: 'platformatic',
    make: (o = {}) =>
      new PlatformaticBackbone({
        connections: { admin: conn, producer: conn, consumer: conn },
        clientId: 'contract',
        logger,
        sessionTimeoutMs: o.sessionMs ?? 10000,
        heartbeatIntervalMs: o.heartbeatMs ?? 500,
        rebalanceTimeoutMs: 20000,
        fetchMaxWaitMs: 100,
        metadataMaxAgeMs: o.metadataMaxAgeMs ?? 2000,
        assignmentStrategy: o.strategy ?? 'range',
      }),
    lacks: new Set(),
  },
  {
    name: 'kafkajs',
    make: (o = {}) =>
      new KafkaBackbone({ connections: { admin: conn, producer: conn, consumer: conn }, clientId: 'contract', logger, sessionTimeoutMs: o.sessionMs ?? 10000, heartbeatIntervalMs: o.heartbeatMs ?? 500, fetchMaxWaitMs: 100 }),
    lacks: new Set(['regex-new-topics', 'static-membership', 'cooperative', 'revoke-before-reassign']),
  },
];

const uid = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;

async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A consumer that records what it receives and every group event, with times. */
class Member {
  readonly c: BackboneConsumer;
  readonly got: InMessage[] = [];
  assignment: TopicPartition[] = [];
  readonly events: Array<{ kind: 'assign' | 'revoke-start' | 'revoke-end'; at: number; tps: TopicPartition[] }> = [];
  assignments = 0;
  constructor(
    b: Backbone,
    readonly groupId: string,
    private readonly opts: { groupInstanceId?: string; revokeDelayMs?: number } = {},
  ) {
    this.c = b.consumer({ groupId, clientId: uid('m'), ...(opts.groupInstanceId ? { groupInstanceId: opts.groupInstanceId } : {}) });
  }
  async start(spec: { topics?: string[]; pattern?: RegExp }): Promise<void> {
    await this.c.connect();
    await this.c.subscribe(spec);
    await this.c.run({
      onBatch: async (msgs) => {
        this.got.push(...msgs);
      },
      onAssignment: (tps) => {
        this.assignments++;
        this.assignment = tps;
        this.events.push({ kind: 'assign', at: performance.now(), tps });
      },
      onRevoke: async (tps) => {
        this.events.push({ kind: 'revoke-start', at: performance.now(), tps });
        if (this.opts.revokeDelayMs) await new Promise((r) => setTimeout(r, this.opts.revokeDelayMs));
        this.assignment = this.assignment.filter((a) => !tps.some((t) => t.topic === a.topic && t.partition === a.partition));
        this.events.push({ kind: 'revoke-end', at: performance.now(), tps });
      },
    });
  }
  stop(): Promise<void> {
    return this.c.disconnect();
  }
}

async function kafkaReachable(): Promise<void> {
  const b = impls[0]!.make();
  try {
    await waitFor('the broker at ' + BROKER, async () => (await b.admin().listTopics().then(() => true, () => false)) || undefined, 20000);
  } finally {
    await b.close();
  }
}

before(kafkaReachable);

describe('murmur2 (Java client fixture)', () => {
  it('matches org.apache.kafka.common.utils.Utils.murmur2', () => {
    // Kafka's own UtilsTest.testMurmur2 cases.
    const cases: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [s, h] of cases) assert.equal(murmur2(Buffer.from(s)), h, s);
  });

  it('puts keys where the Java producer puts them', async () => {
    const topic = uid('contract-java-keys');
    const b = impls[0]!.make();
    try {
      await b.admin().ensureTopics([{ topic, numPartitions: 7 }]);
      const keys = Array.from({ length: 40 }, (_, i) => `key-${i}-${'x'.repeat(i % 5)}`);
      const input = keys.map((k) => `${k}\t${k}`).join('\n') + '\n';
      const r = spawnSync(process.execPath, [join(ROOT, 'scripts/stack.mjs'), 'kafka-tool', 'console-producer', '--topic', topic, '--property', 'parse.key=true', '--property', 'key.separator=\t'], {
        input,
        encoding: 'utf8',
        timeout: 60000,
      });
      assert.equal(r.status, 0, r.stderr);
      const m = new Member(b, uid('g'));
      await m.start({ topics: [topic] });
      await waitFor('the Java producer records', () => m.got.length >= keys.length);
      await m.stop();
      for (const msg of m.got) assert.equal(msg.partition, keyPartition(msg.key!, 7), `key ${msg.key}`);
    } finally {
      await b.close();
    }
  });
});

for (const impl of impls) {
  describe(`backbone contract: ${impl.name}`, () => {
    let b: Backbone;
    before(() => {
      b = impl.make();
    });
    after(() => b.close());

    it('round trip: keys, values, headers (repeated names, null), timestamps, offsets', async () => {
      const topic = uid('contract-rt');
      await b.admin().ensureTopics([{ topic, numPartitions: 3 }]);
      const p = b.producer({ clientId: uid('p') });
      await p.connect();
      const ts = Date.now() - 60_000;
      const meta = await p.send([
        { topic, key: Buffer.from('k1'), value: Buffer.from('v1'), headers: [{ key: 'h', value: Buffer.from('a') }, { key: 'h', value: Buffer.from('b') }], timestamp: ts },
        { topic, key: Buffer.from('k1'), value: Buffer.from('v2'), timestamp: ts + 1 },
        { topic, key: null, value: Buffer.from('v3'), partition: 2, timestamp: ts + 2 },
        { topic, key: Buffer.from('k4'), value: null, timestamp: ts + 3 },
      ]);
      await p.disconnect();
      assert.equal(meta[0]!.partition, keyPartition(Buffer.from('k1'), 3));
      assert.equal(meta[1]!.partition, meta[0]!.partition);
      assert.equal(meta[1]!.offset, meta[0]!.offset + 1);
      assert.equal(meta[2]!.partition, 2);
      const m = new Member(b, uid('g'));
      await m.start({ topics: [topic] });
      await waitFor('4 records', () => m.got.length >= 4);
      await m.stop();
      const byValue = new Map(m.got.map((x) => [x.value?.toString() ?? 'null', x]));
      const v1 = byValue.get('v1')!;
      assert.equal(v1.key!.toString(), 'k1');
      assert.equal(v1.timestamp, ts);
      assert.deepEqual(
        v1.headers.map((h) => [h.key, h.value?.toString()]),
        [
          ['h', 'a'],
          ['h', 'b'],
        ],
      );
      assert.equal(byValue.get('v2')!.timestamp, ts + 1);
      assert.equal(byValue.get('v3')!.partition, 2);
      assert.equal(byValue.get('null')!.key!.toString(), 'k4');
      for (let i = 0; i < 4; i++) {
        const got = m.got.find((x) => x.partition === meta[i]!.partition && x.offset === meta[i]!.offset);
        assert.ok(got, `record ${i} at its reported offset`);
      }
    });

    it('sends and consumes without Node.js warnings about its timers', async () => {
      // kafkajs set a negative timeout after each answer when no request waited: Node.js 24
      // printed a TimeoutNegativeWarning to the worker's stderr (patched, see README).
      const warnings: string[] = [];
      const onWarning = (w: Error) => {
        if (w.name === 'TimeoutNegativeWarning') warnings.push(w.message);
      };
      process.on('warning', onWarning);
      try {
        const topic = uid('contract-warn');
        await b.admin().ensureTopics([{ topic, numPartitions: 2 }]);
        const p = b.producer({ clientId: uid('p') });
        await p.connect();
        try {
          for (let i = 0; i < 20; i++) await p.send([{ topic, key: Buffer.from(String(i)), value: Buffer.from('v') }]);
        } finally {
          await p.disconnect();
        }
        const m = new Member(b, uid('g'));
        await m.start({ topics: [topic] });
        try {
          await waitFor('20 records', () => m.got.length >= 20);
        } finally {
          await m.stop();
        }
        // Warnings reach their listeners on a later tick.
        await new Promise((r) => setImmediate(r));
      } finally {
        process.off('warning', onWarning);
      }
      assert.deepEqual(warnings, []);
    });

    it('one batch of records whose timestamps lie months apart, empty and large values: all exact', async () => {
      // A backfill replays old records beside new ones: timestamp deltas inside one batch
      // beyond 2^31 ms (24.8 days) must keep their sign and size (64-bit zig-zag varints).
      const topic = uid('contract-ts');
      await b.admin().ensureTopics([{ topic, numPartitions: 1 }]);
      const p = b.producer({ clientId: uid('p') });
      await p.connect();
      // The broker refuses timestamps more than an hour ahead (log.message.timestamp.after.max.ms),
      // so the batch starts in the past and the later records jump forward and back.
      const now = Date.now();
      const day = 86_400_000;
      const big = Buffer.alloc(70_000, 7);
      const sent = [
        { ts: now - 400 * day, key: Buffer.from('a'), value: Buffer.from('first') },
        { ts: now, key: Buffer.alloc(0), value: Buffer.alloc(0) },
        { ts: now - 30 * day, key: null, value: big },
        { ts: 0, key: Buffer.from('epoch'), value: null },
        { ts: now - 400 * day + 1, key: Buffer.from('old'), value: Buffer.from('x'), headers: [{ key: 'h', value: Buffer.alloc(0) }] },
      ];
      try {
        await p.send(sent.map((s) => ({ topic, key: s.key, value: s.value, timestamp: s.ts, headers: s.headers })));
      } finally {
        await p.disconnect();
      }
      const m = new Member(b, uid('g'));
      await m.start({ topics: [topic] });
      await waitFor(`${sent.length} records`, () => m.got.length >= sent.length);
      await m.stop();
      const got = [...m.got].sort((x, y) => x.offset - y.offset);
      assert.equal(got.length, sent.length);
      for (let i = 0; i < sent.length; i++) {
        const s = sent[i]!;
        const g = got[i]!;
        assert.equal(g.timestamp, s.ts, `timestamp of record ${i}`);
        assert.deepEqual(g.key, s.key, `key of record ${i}`);
        assert.deepEqual(g.value, s.value, `value of record ${i}`);
      }
      assert.deepEqual(got[4]!.headers.map((h) => [h.key, h.value?.length]), [['h', 0]]);
    });

    it('commits, and a new member of the group resumes from the committed offsets', async () => {
      const topic = uid('contract-commit');
      await b.admin().ensureTopics([{ topic, numPartitions: 2 }]);
      const p = b.producer({ clientId: uid('p') });
      await p.connect();
      await p.send(Array.from({ length: 100 }, (_, i) => ({ topic, key: null, partition: i % 2, value: Buffer.from(`a${i}`) })));
      const group = uid('g');
      const m1 = new Member(b, group);
      await m1.start({ topics: [topic] });
      await waitFor('100 records', () => m1.got.length >= 100);
      await m1.c.commit([
        { topic, partition: 0, offset: 30 },
        { topic, partition: 1, offset: 50 },
      ]);
      const committed = await b.admin().committedOffsets(group, [topic]);
      assert.deepEqual(committed.sort((x, y) => x.partition - y.partition).map((o) => o.offset), [30, 50]);
      await m1.stop();
      await p.send([{ topic, key: null, partition: 0, value: Buffer.from('later') }]);
      await p.disconnect();
      const m2 = new Member(b, group);
      await m2.start({ topics: [topic] });
      // Partition 0: offsets 30..49 and 'later'; partition 1: nothing after 50.
      await waitFor('the records after the committed offsets', () => m2.got.length >= 21 && m2.got.some((x) => x.value?.toString() === 'later'));
      await m2.stop();
      const p0 = m2.got.filter((x) => x.partition === 0).map((x) => x.offset);
      assert.equal(Math.min(...p0), 30, 'partition 0 resumes at 30');
      assert.equal(m2.got.filter((x) => x.partition === 1).length, 0, 'partition 1 resumes at its end (50)');
    });

    it('idempotent concurrent sends: 300,000 records in 4 concurrent send() calls, on topics just created, all in the topics, none twice', async () => {
      // Each round starts sending to a topic as soon as it exists, while its partitions'
      // leaders may still be settling: the broker then takes some of a request's batches and
      // refuses others (NOT_LEADER_OR_FOLLOWER), and later requests overtake the refused ones.
      // A client that resends batches the broker already took under a new producer id
      // writes them twice (a request's other partitions came back duplicated here).
      const rounds = 5;
      const total = Number(process.env.CONTRACT_IDEMPOTENT_RECORDS ?? 300_000);
      const perRound = Math.ceil(total / rounds);
      const batch = 1000;
      const topics: string[] = [];
      let acked = 0;
      let sent = 0;
      const p = b.producer({ clientId: uid('p') });
      await p.connect();
      try {
        for (let r = 0; r < rounds && sent < total; r++) {
          const topic = uid('contract-idem');
          topics.push(topic);
          await b.admin().ensureTopics([{ topic, numPartitions: 4 }]);
          const end = Math.min(total, sent + perRound);
          const worker = async () => {
            while (sent < end) {
              const start = sent;
              const n = Math.min(batch, end - start);
              sent += n;
              const msgs = Array.from({ length: n }, (_, i) => ({ topic, key: Buffer.from(String(start + i)), value: Buffer.from(`value-${start + i}-${'x'.repeat(80)}`) }));
              const meta = await p.send(msgs);
              acked += meta.length;
            }
          };
          await Promise.all([worker(), worker(), worker(), worker()]);
        }
      } finally {
        await p.disconnect();
      }
      assert.equal(acked, total);
      let inTopics = 0;
      for (const topic of topics) inTopics += (await b.admin().endOffsets(topic)).reduce((s, e) => s + e.offset, 0);
      assert.equal(inTopics, total, 'records in the topics');
      const m = new Member(b, uid('g'));
      await m.start({ topics });
      try {
        await waitFor('every record back', () => m.got.length >= total, 120000);
      } finally {
        await m.stop();
      }
      const seen = new Set(m.got.map((x) => x.key!.toString()));
      assert.equal(seen.size, total, 'distinct records');
    });

    it('topics.regex picks up a topic created after subscribe (within metadata.max.age.ms)', async (t) => {
      const prefix = uid('contract-re');
      const bb = impl.make({ metadataMaxAgeMs: 2000 });
      try {
        if (impl.lacks.has('regex-new-topics')) {
          const c = bb.consumer({ groupId: uid('g'), clientId: uid('c') });
          await assert.rejects(c.subscribe({ pattern: new RegExp(`^${prefix}-.*$`) }), /topics created later|kafka\.client=platformatic/);
          t.diagnostic('kafkajs refuses regex subscriptions: they would never see later topics');
          return;
        }
        await bb.admin().ensureTopics([{ topic: `${prefix}-a`, numPartitions: 1 }]);
        const m = new Member(bb, uid('g'));
        await m.start({ pattern: new RegExp(`^${prefix}-.*$`) });
        const p = bb.producer({ clientId: uid('p') });
        await p.connect();
        await bb.admin().ensureTopics([{ topic: `${prefix}-b`, numPartitions: 2 }]);
        const created = performance.now();
        await p.send([{ topic: `${prefix}-b`, key: Buffer.from('x'), value: Buffer.from('later') }]);
        await waitFor('the record of the later topic', () => m.got.some((x) => x.topic === `${prefix}-b`), 20000);
        t.diagnostic(`picked up after ${Math.round(performance.now() - created)} ms (metadata.max.age.ms 2000)`);
        await p.disconnect();
        await m.stop();
      } finally {
        await bb.close();
      }
    });

    it('revocation (close and final commit) completes before another member is assigned the partitions', async (t) => {
      if (impl.lacks.has('revoke-before-reassign')) {
        t.skip('kafkajs hands revoked partitions over before the old member closes them (no revocation hook): use kafka.client=platformatic');
        return;
      }
      const topic = uid('contract-revoke');
      await b.admin().ensureTopics([{ topic, numPartitions: 4 }]);
      const group = uid('g');
      const a = new Member(b, group, { revokeDelayMs: 1500 });
      await a.start({ topics: [topic] });
      await waitFor('a owns all 4', () => a.assignment.length === 4);
      const c = new Member(b, group);
      await c.start({ topics: [topic] });
      await waitFor('c gets partitions', () => c.assignment.length > 0, 30000);
      await waitFor('a settles', () => a.assignment.length > 0 && a.assignment.length + c.assignment.length === 4, 30000);
      const cGot = c.events.find((e) => e.kind === 'assign' && e.tps.length > 0)!;
      for (const tp of cGot.tps) {
        const revokeEnd = a.events.find((e) => e.kind === 'revoke-end' && e.tps.some((x) => x.topic === tp.topic && x.partition === tp.partition));
        assert.ok(revokeEnd, `a revoked ${tp.partition}`);
        assert.ok(revokeEnd.at <= cGot.at, `a finished revoking ${tp.partition} before c got it`);
      }
      await c.stop();
      await a.stop();
    });

    it('20 joins (5 rounds of 4 members joining together), none slower than 10 s', async () => {
      const topic = uid('contract-joins');
      await b.admin().ensureTopics([{ topic, numPartitions: 4 }]);
      const group = uid('g');
      const times: number[] = [];
      for (let round = 0; round < 5; round++) {
        const ms = Array.from({ length: 4 }, () => new Member(b, group));
        const t0 = performance.now();
        await Promise.all(
          ms.map(async (m) => {
            await m.start({ topics: [topic] });
            await waitFor('an assignment', () => m.assignments > 0, 10000);
            times.push(performance.now() - t0);
          }),
        );
        await waitFor('the 4 partitions spread over the 4 members', () => ms.every((m) => m.assignment.length === 1), 10000);
        await Promise.all(ms.map((m) => m.stop()));
      }
      assert.equal(times.length, 20);
      assert.ok(Math.max(...times) < 10000, `slowest join ${Math.round(Math.max(...times))} ms`);
    });

    it('restart with the same group.instance.id gets the same partitions back without a rebalance of the others', async () => {
      if (impl.lacks.has('static-membership')) {
        assert.throws(() => b.consumer({ groupId: uid('g'), clientId: uid('c'), groupInstanceId: 'x' }), /static membership/);
        const cfg = loadWorkerConfig({ 'kafka.client': 'kafkajs', 'consumer.group.instance.id': 'w1' }, {}).settings;
        await assert.rejects(() => createBackbone(cfg, {}, logs), (e: Error) => e instanceof UnsupportedBackboneOptionError && /static membership/.test(e.message));
        return;
      }
      const topic = uid('contract-static');
      await b.admin().ensureTopics([{ topic, numPartitions: 4 }]);
      const group = uid('g');
      const bb = impl.make({ sessionMs: 30000 });
      try {
        const a = new Member(bb, group, { groupInstanceId: 'static-a' });
        const o = new Member(bb, group, { groupInstanceId: 'static-b' });
        await a.start({ topics: [topic] });
        await o.start({ topics: [topic] });
        await waitFor('both own 2', () => a.assignment.length === 2 && o.assignment.length === 2, 30000);
        const before = a.assignment.map((x) => x.partition).sort();
        const othersEvents = o.events.length;
        await a.stop();
        const a2 = new Member(bb, group, { groupInstanceId: 'static-a' });
        await a2.start({ topics: [topic] });
        await waitFor('a restarted gets its partitions', () => a2.assignment.length === 2, 30000);
        assert.deepEqual(a2.assignment.map((x) => x.partition).sort(), before);
        // Let a few heartbeats pass: a rebalance would show in the other member's events.
        await new Promise((r) => setTimeout(r, 3000));
        assert.equal(o.events.length, othersEvents, `the other member saw no rebalance: ${JSON.stringify(o.events.slice(othersEvents))}`);
        await a2.stop();
        await o.stop();
      } finally {
        await bb.close();
      }
    });

    for (const strategy of ['range', 'cooperative-sticky'] as const) {
      it(`shares a group with the Java consumer (${strategy})`, async (t) => {
        if (impl.lacks.has('java-assignors') || (strategy === 'cooperative-sticky' && impl.lacks.has('cooperative'))) {
          if (strategy === 'cooperative-sticky') {
            const cfg = loadWorkerConfig({ 'kafka.client': 'kafkajs', 'consumer.partition.assignment.strategy': strategy }, {}).settings;
            await assert.rejects(() => createBackbone(cfg, {}, logs), (e: Error) => e instanceof UnsupportedBackboneOptionError && /cooperative/.test(e.message));
            return;
          }
          t.skip('kafkajs speaks only its own assignor protocols, not the Java range protocol');
          return;
        }
        const topic = uid(`contract-java-${strategy}`);
        const bb = impl.make({ strategy });
        let java: ChildProcess | undefined;
        try {
          await bb.admin().ensureTopics([{ topic, numPartitions: 4 }]);
          const group = uid('g');
          const ours = new Member(bb, group);
          await ours.start({ topics: [topic] });
          await waitFor('ours owns all 4', () => ours.assignment.length === 4);
          const cls = strategy === 'range' ? 'org.apache.kafka.clients.consumer.RangeAssignor' : 'org.apache.kafka.clients.consumer.CooperativeStickyAssignor';
          let javaOut = '';
          java = spawn(
            process.execPath,
            [join(ROOT, 'scripts/stack.mjs'), 'kafka-tool', 'console-consumer', '--topic', topic, '--group', group, '--consumer-property', `partition.assignment.strategy=${cls}`, '--property', 'print.partition=true', '--from-beginning'],
            { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
          );
          java.stdout!.on('data', (d) => (javaOut += d));
          java.stderr!.on('data', (d) => (javaOut += d));
          await waitFor('the Java consumer takes half', () => ours.assignment.length === 2, 60000);
          const p = bb.producer({ clientId: uid('p') });
          await p.connect();
          await p.send(Array.from({ length: 4 }, (_, i) => ({ topic, partition: i, key: null, value: Buffer.from(`to-${i}`) })));
          await p.disconnect();
          await waitFor('ours gets its 2 records', () => ours.got.length >= 2, 20000);
          await waitFor('Java prints its 2 records', () => (javaOut.match(/to-\d/g) ?? []).length >= 2, 20000);
          const mine = new Set(ours.got.map((x) => x.value!.toString()));
          const theirs = new Set(javaOut.match(/to-\d/g));
          assert.equal(mine.size + theirs.size, 4, `split between both: ours ${[...mine]}, Java ${[...theirs]}`);
          for (const v of mine) assert.ok(!theirs.has(v), `${v} went to one member only`);
          assert.doesNotMatch(javaOut, /InconsistentGroupProtocol/);
          await ours.stop();
        } finally {
          if (java?.pid) {
            try {
              process.kill(-java.pid, 'SIGTERM');
            } catch {
              /* already gone */
            }
          }
          await bb.close();
        }
      });
    }
  });
}
