/**
 * The two backbone implementations through the Backbone interface, in the
 * same run, against the same broker: produce (batches of 1,000, 4 in flight,
 * idempotent, acks=all) and consume (a fresh group from the beginning), in
 * records/s and CPU seconds per million records of this process.
 *
 *   node --import tsx --conditions=development bench/backbone-clients.ts   (BENCH_RECORDS, default 500000)
 */
import { randomUUID } from 'node:crypto';
import { KafkaBackbone, LogManager, PlatformaticBackbone, type Backbone } from '@ferry/worker';

const N = Number(process.env.BENCH_RECORDS ?? 500_000);
const BROKER = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';
const logger = new LogManager({ level: 'ERROR' }).get('bench');
const conn = { brokers: [BROKER] };

const impls: Array<[string, () => Backbone]> = [
  ['platformatic', () => new PlatformaticBackbone({ connections: { admin: conn, producer: conn, consumer: conn }, clientId: 'bench', logger })],
  ['kafkajs', () => new KafkaBackbone({ connections: { admin: conn, producer: conn, consumer: conn }, clientId: 'bench', logger })],
];

function cpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function produce(b: Backbone, topic: string): Promise<[number, number]> {
  const p = b.producer({ clientId: `bench-${randomUUID().slice(0, 6)}` });
  await p.connect();
  const value = Buffer.from('x'.repeat(100));
  let next = 0;
  const c0 = cpu();
  const t0 = performance.now();
  const worker = async () => {
    while (next < N) {
      const start = next;
      const n = Math.min(1000, N - start);
      next += n;
      await p.send(Array.from({ length: n }, (_, i) => ({ topic, key: Buffer.from(String(start + i)), value })));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const s = (performance.now() - t0) / 1000;
  const c = cpu() - c0;
  await p.disconnect();
  return [N / s, (c * 1e6) / N];
}

async function consume(b: Backbone, topic: string): Promise<[number, number]> {
  const c = b.consumer({ groupId: `bench-${randomUUID().slice(0, 8)}`, clientId: 'bench-c' });
  await c.connect();
  await c.subscribe({ topics: [topic] });
  let got = 0;
  let t0 = 0;
  let c0 = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  await c.run({
    onAssignment: () => undefined,
    onBatch: async (msgs) => {
      if (got === 0) {
        t0 = performance.now();
        c0 = cpu();
      }
      got += msgs.length;
      if (got >= N) done();
    },
  });
  await all;
  const s = (performance.now() - t0) / 1000;
  const cs = cpu() - c0;
  await c.disconnect();
  return [N / s, (cs * 1e6) / N];
}

const rows: string[] = [];
for (const [name, make] of impls) {
  const b = make();
  const topic = `bench-clients-${name}-${randomUUID().slice(0, 8)}`;
  await b.admin().ensureTopics([{ topic, numPartitions: 4 }]);
  const [pr, pc] = await produce(b, topic);
  const [cr, cc] = await consume(b, topic);
  rows.push(`| ${name} | ${Math.round(pr).toLocaleString('en-US')} | ${pc.toFixed(2)} | ${Math.round(cr).toLocaleString('en-US')} | ${cc.toFixed(2)} |`);
  await b.close();
}
process.stdout.write(
  [`${N} records of 100 bytes, 4 partitions, Node.js ${process.versions.node}`, '| client | produce rec/s | produce CPU s/1M | consume rec/s | consume CPU s/1M |', '|---|---|---|---|---|', ...rows, ''].join('\n'),
);
