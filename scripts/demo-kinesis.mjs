#!/usr/bin/env node
// `npm run demo:kinesis`: the "Firehose" shape with no Kafka at all.
// PostgreSQL (table kinesis_demo_orders) -> PostgresCdcSource -> Kinesis stream
// ferry-demo-pg.public.kinesis_demo_orders -> S3Sink (bucket ferry-kinesis-demo)
// and ElasticsearchSink (index kinesis-demo-orders). Starts the servers it
// needs, creates the table and the bucket, runs the worker with
// configs/kinesis-demo/ (REST on http://127.0.0.1:8084), inserts an order per
// second and prints where the rows have arrived every 5 seconds.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build, ensureInstalled, ROOT, say, stackUp } from './lib.mjs';

ensureInstalled();
await stackUp(['kinesis', 'postgres', 'redis', 's3', 'elasticsearch']);
build();

const { default: pg } = await import('pg');
const { S3Client, CreateBucketCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const BUCKET = 'ferry-kinesis-demo';
const db = new pg.Client({ connectionString: PG_URL });
await db.connect();
await db.query(`CREATE TABLE IF NOT EXISTS kinesis_demo_orders (id serial PRIMARY KEY, item text NOT NULL, units int NOT NULL, created timestamptz NOT NULL DEFAULT now())`);
const s3 = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
await s3.send(new CreateBucketCommand({ Bucket: BUCKET })).catch(() => undefined);

const workerFile = 'configs/kinesis-demo/worker.json';
mkdirSync(join(ROOT, 'data/kinesis-demo'), { recursive: true });
const log = createWriteStream(join(ROOT, 'data/kinesis-demo/worker.log'), { flags: 'a' });
say('worker starting with backbone=kinesis: REST http://127.0.0.1:8084, logs in data/kinesis-demo/worker.log, connectors from configs/kinesis-demo/connectors/');
const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim();
// --max-semi-space-size=8: see packages/worker/bin/connect-worker.mjs.
const child = spawn(process.execPath, ['--max-semi-space-size=8', join(ROOT, 'packages/worker/bin/connect-worker.mjs'), 'standalone', workerFile], {
  cwd: ROOT,
  env: { ...process.env, FERRY_COMMIT: process.env.FERRY_COMMIT ?? (commit || 'unknown') },
  stdio: ['ignore', 'pipe', 'pipe'],
});
const relay = (d) => {
  log.write(d);
  for (const line of d.toString().split('\n')) if (/"level":"(warn|error|fatal)"/.test(line)) process.stderr.write(`${line}\n`);
};
child.stdout.on('data', relay);
child.stderr.on('data', relay);

const items = ['coffee', 'tea', 'bagel', 'croissant', 'juice'];
const inserter = setInterval(() => {
  const item = items[Math.floor(Math.random() * items.length)];
  db.query('INSERT INTO kinesis_demo_orders (item, units) VALUES ($1, $2)', [item, 1 + Math.floor(Math.random() * 5)]).catch((e) => say(`insert failed: ${e.message}`));
}, 1000);

async function s3Objects() {
  let n = 0;
  let token;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'orders/', ContinuationToken: token }));
    n += out.KeyCount ?? 0;
    token = out.NextContinuationToken;
  } while (token);
  return n;
}

const reporter = setInterval(async () => {
  try {
    const rows = Number((await db.query('SELECT count(*) AS n FROM kinesis_demo_orders')).rows[0].n);
    const es = await fetch('http://127.0.0.1:9200/kinesis-demo-orders/_count').then((r) => (r.ok ? r.json() : { count: 0 }));
    const status = await fetch('http://127.0.0.1:8084/connectors?expand=status').then((r) => r.json());
    const states = Object.entries(status)
      .map(([n, v]) => `${n} ${v.status.connector.state}`)
      .join(' | ');
    say(`${states} | PostgreSQL ${rows} orders -> Elasticsearch ${es.count ?? 0} documents, S3 ${await s3Objects()} objects in s3://${BUCKET}/orders/`);
  } catch {
    /* not up yet */
  }
}, 5000);

const stop = (sig) => {
  say(`stopping the worker (${sig})`);
  clearInterval(inserter);
  child.kill('SIGTERM');
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
child.on('exit', async (code) => {
  clearInterval(reporter);
  clearInterval(inserter);
  await db.end().catch(() => undefined);
  say(`worker exited (${code ?? 0}); the local servers keep running: \`npm run stack -- down\` stops them`);
  process.exit(code ?? 0);
});
